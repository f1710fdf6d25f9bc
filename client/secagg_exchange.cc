#include "client/secagg_exchange.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "secagg/params.h"
#include "secagg/random.h"
#include "secagg/ring_codes.h"

namespace fedge {

absl::StatusOr<int> SecAggTaskCodeBits(const proto::SecAggTask& task) {
  if (task.code_bits() == 0) return 8;
  if (task.code_bits() == 8 || task.code_bits() == 4) return static_cast<int>(task.code_bits());
  return absl::InvalidArgumentError(absl::StrCat("the task asks for ", task.code_bits(),
                                                 "-bit secure-aggregation codes; this device sends 8-bit (int8) "
                                                 "or 4-bit (int4) codes only"));
}

std::vector<int8_t> QuantizeOnSharedScale(absl::Span<const float> delta, double scale, int code_bits,
                                          SeededRandom& rng) {
  const double max_code = static_cast<double>((1 << (code_bits - 1)) - 1);  // 127 or 7
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<int8_t> codes(delta.size());
  for (size_t i = 0; i < delta.size(); ++i) {
    const double x = std::clamp(static_cast<double>(delta[i]) / scale, -max_code, max_code);
    const double low = std::floor(x);
    const double code = low + (u(rng) < x - low ? 1 : 0);  // E[code] = x
    codes[i] = static_cast<int8_t>(std::clamp(code, -max_code, max_code));
  }
  return codes;
}

absl::StatusOr<std::unique_ptr<SecAggExchange>> SecAggExchange::Start(const proto::Task& task, std::string device_id,
                                                                      absl::Span<const int8_t> codes) {
  const proto::SecAggTask& s = task.secagg();
  const secagg::SecAggParams params{.round_id = task.round(),
                                    .num_clients = s.num_clients(),
                                    .neighbours = s.neighbours(),
                                    .threshold = s.threshold(),
                                    .vector_length = codes.size(),
                                    .ring_bits = static_cast<int>(s.ring_bits()),
                                    .graph_seed = s.graph_seed()};
  if (absl::Status valid = params.Validate(); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the task's secure-aggregation parameters: ", valid.message()));
  }
  FEDGE_ASSIGN_OR_RETURN(const int code_bits, SecAggTaskCodeBits(s));
  FEDGE_ASSIGN_OR_RETURN(const int needed, secagg::RingBitsFor(code_bits, s.num_clients()));
  if (params.ring_bits < needed) {
    return absl::InvalidArgumentError(absl::StrCat("the task's ring of ", params.ring_bits, " bits cannot hold the sum of ",
                                                   s.num_clients(), " ", code_bits, "-bit codes (", needed,
                                                   " bits needed)"));
  }
  FEDGE_ASSIGN_OR_RETURN(std::vector<uint64_t> input, secagg::CodesToRing(codes, code_bits));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<secagg::ClientSession> session,
                         secagg::ClientSession::Create(params, s.client_index(), *secagg::SystemRandom()));
  auto exchange = std::unique_ptr<SecAggExchange>(
      new SecAggExchange(task, std::move(device_id), std::move(session), std::move(input)));
  FEDGE_ASSIGN_OR_RETURN(exchange->outgoing_, exchange->session_->Advertise());
  return exchange;
}

SecAggExchange::SecAggExchange(const proto::Task& task, std::string device_id,
                               std::unique_ptr<secagg::ClientSession> session, std::vector<uint64_t> input)
    : device_id_(std::move(device_id)), task_id_(task.task_id()), session_(std::move(session)), input_(std::move(input)) {}

absl::StatusOr<std::string> SecAggExchange::Respond(const std::string& answer) {
  switch (stage_) {
    case 0: return session_->OnKeyDirectory(answer);
    case 1: {
      absl::StatusOr<std::string> masked = session_->OnShareBundle(answer, input_);
      std::fill(input_.begin(), input_.end(), 0);  // only the masked vector is kept
      input_.clear();
      return masked;
    }
    default: return session_->OnUnmaskRequest(answer);
  }
}

absl::StatusOr<SecAggExchange::Progress> SecAggExchange::Step(Transport& transport) {
  if (stage_ > 3) return Progress{.done = true};
  // At most two calls: the answer that closes a stage, then the next
  // stage's message at once.
  for (int call = 0; call < 2; ++call) {
    proto::SecAggRequest request;
    request.set_device_id(device_id_);
    request.set_task_id(task_id_);
    request.set_stage(static_cast<uint32_t>(stage_));
    if (!sent_) request.set_message(outgoing_);
    FEDGE_ASSIGN_OR_RETURN(proto::SecAggResponse response, transport.SecAgg(request));
    sent_ = true;
    if (!response.ready()) {
      return Progress{.retry_after = absl::Milliseconds(std::max<int64_t>(response.retry_after_millis(), 1))};
    }
    if (stage_ == 3) {
      stage_ = 4;
      outgoing_.clear();
      return Progress{.done = true};
    }
    FEDGE_ASSIGN_OR_RETURN(outgoing_, Respond(response.message()));
    ++stage_;
    sent_ = false;
  }
  return Progress{.retry_after = absl::ZeroDuration()};
}

}  // namespace fedge
