#include "simulations/mpi_messages.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {
namespace {

static_assert(std::endian::native == std::endian::little, "the MPI messages copy little-endian bytes as they are");

constexpr char kMagic[4] = {'F', 'G', 'M', 'P'};
constexpr uint8_t kVersion = 1;
// Bounds that no honest message reaches: a hostile length fails here, before
// anything is allocated for it.
constexpr uint32_t kMaxStringBytes = 64u << 20;
constexpr uint64_t kMaxFloats = uint64_t{1} << 30;
constexpr uint32_t kMaxMetrics = 4096;

class Writer {
 public:
  explicit Writer(MpiMessageKind kind) {
    out_.append(kMagic, sizeof(kMagic));
    U8(kVersion);
    U8(static_cast<uint8_t>(kind));
  }
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Raw(&v, sizeof(v)); }
  void U64(uint64_t v) { Raw(&v, sizeof(v)); }
  void F64(double v) { Raw(&v, sizeof(v)); }
  void Str(absl::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  void Floats(const std::vector<float>& v) {
    U64(v.size());
    Raw(v.data(), v.size() * sizeof(float));
  }
  std::string Take() { return std::move(out_); }

 private:
  void Raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(absl::string_view bytes) : rest_(bytes) {}

  absl::Status Header(MpiMessageKind expected) {
    FEDGE_ASSIGN_OR_RETURN(MpiMessageKind kind, PeekMpiMessageKind(rest_));
    if (kind != expected) {
      return absl::InvalidArgumentError(absl::StrCat("expected a message of kind ", static_cast<int>(expected),
                                                     ", got kind ", static_cast<int>(kind)));
    }
    rest_.remove_prefix(sizeof(kMagic) + 2);
    return absl::OkStatus();
  }
  // One fixed-size field, as the writer's memcpy laid it out.
  template <typename T>
  absl::StatusOr<T> Scalar(const char* field) {
    T v{};
    FEDGE_RETURN_IF_ERROR(Raw(&v, sizeof(v), field));
    return v;
  }
  absl::StatusOr<uint8_t> U8(const char* field) { return Scalar<uint8_t>(field); }
  absl::StatusOr<uint32_t> U32(const char* field) { return Scalar<uint32_t>(field); }
  absl::StatusOr<uint64_t> U64(const char* field) { return Scalar<uint64_t>(field); }
  absl::StatusOr<double> F64(const char* field) { return Scalar<double>(field); }
  absl::StatusOr<std::string> Str(const char* field) {
    FEDGE_ASSIGN_OR_RETURN(uint32_t size, U32(field));
    if (size > kMaxStringBytes || size > rest_.size()) return Truncated(field);
    std::string s(rest_.substr(0, size));
    rest_.remove_prefix(size);
    return s;
  }
  // Finite floats only: a parameter vector with NaN or infinity is refused.
  absl::StatusOr<std::vector<float>> Floats(const char* field) {
    FEDGE_ASSIGN_OR_RETURN(uint64_t count, U64(field));
    if (count > kMaxFloats || count * sizeof(float) > rest_.size()) return Truncated(field);
    std::vector<float> v(count);
    std::memcpy(v.data(), rest_.data(), count * sizeof(float));
    rest_.remove_prefix(count * sizeof(float));
    for (size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i])) {
        return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "] is not a finite number"));
      }
    }
    return v;
  }
  absl::Status End() const {
    if (!rest_.empty()) return absl::DataLossError(absl::StrCat(rest_.size(), " unexpected bytes after the message"));
    return absl::OkStatus();
  }

 private:
  absl::Status Raw(void* out, size_t n, const char* field) {
    if (rest_.size() < n) return Truncated(field);
    std::memcpy(out, rest_.data(), n);
    rest_.remove_prefix(n);
    return absl::OkStatus();
  }
  static absl::Status Truncated(const char* field) {
    return absl::DataLossError(absl::StrCat("the message is truncated or corrupt at field '", field, "'"));
  }
  absl::string_view rest_;
};

void WriteStatus(Writer& w, const absl::Status& status) {
  w.U32(static_cast<uint32_t>(status.code()));
  w.Str(status.message());
}

// The carried status goes to `out`; the return value is the decoding's.
absl::Status ReadStatus(Reader& r, absl::Status* out) {
  FEDGE_ASSIGN_OR_RETURN(uint32_t code, r.U32("status.code"));
  FEDGE_ASSIGN_OR_RETURN(std::string message, r.Str("status.message"));
  if (code > static_cast<uint32_t>(absl::StatusCode::kUnauthenticated)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown status code ", code));
  }
  *out = code == 0 ? absl::OkStatus() : absl::Status(static_cast<absl::StatusCode>(code), message);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MpiMessageKind> PeekMpiMessageKind(absl::string_view bytes) {
  if (bytes.size() < sizeof(kMagic) + 2 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::DataLossError("not a fedge-sim MPI message (bad magic or too short)");
  }
  const uint8_t version = static_cast<uint8_t>(bytes[4]);
  if (version != kVersion) {
    return absl::InvalidArgumentError(absl::StrCat("MPI message version ", version, ", this fedge-sim speaks ",
                                                   kVersion, ": run the same fedge-sim binary on every rank"));
  }
  const uint8_t kind = static_cast<uint8_t>(bytes[5]);
  if (kind < static_cast<uint8_t>(MpiMessageKind::kHello) || kind > static_cast<uint8_t>(MpiMessageKind::kTrainReply)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown MPI message kind ", kind));
  }
  return static_cast<MpiMessageKind>(kind);
}

std::string EncodeMpiHello(const MpiHello& hello) {
  Writer w(MpiMessageKind::kHello);
  w.Str(hello.fingerprint);
  return w.Take();
}

absl::StatusOr<MpiHello> DecodeMpiHello(absl::string_view bytes) {
  Reader r(bytes);
  FEDGE_RETURN_IF_ERROR(r.Header(MpiMessageKind::kHello));
  MpiHello hello;
  FEDGE_ASSIGN_OR_RETURN(hello.fingerprint, r.Str("fingerprint"));
  FEDGE_RETURN_IF_ERROR(r.End());
  return hello;
}

std::string EncodeMpiStop() { return Writer(MpiMessageKind::kStop).Take(); }

std::string EncodeMpiHelloReply(const MpiHelloReply& reply) {
  Writer w(MpiMessageKind::kHelloReply);
  WriteStatus(w, reply.setup);
  return w.Take();
}

absl::StatusOr<MpiHelloReply> DecodeMpiHelloReply(absl::string_view bytes) {
  Reader r(bytes);
  FEDGE_RETURN_IF_ERROR(r.Header(MpiMessageKind::kHelloReply));
  MpiHelloReply reply;
  FEDGE_RETURN_IF_ERROR(ReadStatus(r, &reply.setup));
  FEDGE_RETURN_IF_ERROR(r.End());
  return reply;
}

std::string EncodeMpiTrainRequest(const MpiTrainRequest& request) {
  Writer w(MpiMessageKind::kTrain);
  w.U64(request.device_index);
  w.U64(request.seed);
  w.U64(request.noise_seed);
  w.Str(request.config.SerializeAsString());
  w.Floats(request.global);
  return w.Take();
}

absl::StatusOr<MpiTrainRequest> DecodeMpiTrainRequest(absl::string_view bytes) {
  Reader r(bytes);
  FEDGE_RETURN_IF_ERROR(r.Header(MpiMessageKind::kTrain));
  MpiTrainRequest request;
  FEDGE_ASSIGN_OR_RETURN(request.device_index, r.U64("device_index"));
  FEDGE_ASSIGN_OR_RETURN(request.seed, r.U64("seed"));
  FEDGE_ASSIGN_OR_RETURN(request.noise_seed, r.U64("noise_seed"));
  FEDGE_ASSIGN_OR_RETURN(std::string config, r.Str("config"));
  if (!request.config.ParseFromString(config)) return absl::InvalidArgumentError("config is not a TrainConfig");
  FEDGE_ASSIGN_OR_RETURN(request.global, r.Floats("global"));
  FEDGE_RETURN_IF_ERROR(r.End());
  return request;
}

std::string EncodeMpiTrainReply(const MpiTrainReply& reply) {
  Writer w(MpiMessageKind::kTrainReply);
  WriteStatus(w, reply.status);
  if (!reply.status.ok()) return w.Take();
  const TrainResult& t = reply.result;
  w.U64(t.num_examples);
  w.F64(t.train_cpu_seconds);
  w.U8(t.privacy.has_value() ? 1 : 0);
  if (t.privacy) {
    w.F64(t.privacy->sample_rate);
    w.F64(t.privacy->noise_multiplier);
    w.U64(static_cast<uint64_t>(t.privacy->steps));
  }
  w.U32(static_cast<uint32_t>(t.metrics.size()));
  for (const auto& [name, value] : t.metrics) {
    w.Str(name);
    w.F64(value);
  }
  w.Floats(t.local.values);
  return w.Take();
}

absl::StatusOr<MpiTrainReply> DecodeMpiTrainReply(absl::string_view bytes) {
  Reader r(bytes);
  FEDGE_RETURN_IF_ERROR(r.Header(MpiMessageKind::kTrainReply));
  MpiTrainReply reply;
  FEDGE_RETURN_IF_ERROR(ReadStatus(r, &reply.status));
  if (!reply.status.ok()) {
    FEDGE_RETURN_IF_ERROR(r.End());
    return reply;
  }
  TrainResult& t = reply.result;
  FEDGE_ASSIGN_OR_RETURN(t.num_examples, r.U64("num_examples"));
  FEDGE_ASSIGN_OR_RETURN(t.train_cpu_seconds, r.F64("train_cpu_seconds"));
  FEDGE_ASSIGN_OR_RETURN(uint8_t has_privacy, r.U8("privacy"));
  if (has_privacy > 1) return absl::InvalidArgumentError("privacy flag is neither 0 nor 1");
  if (has_privacy == 1) {
    SgmEvent e;
    FEDGE_ASSIGN_OR_RETURN(e.sample_rate, r.F64("privacy.sample_rate"));
    FEDGE_ASSIGN_OR_RETURN(e.noise_multiplier, r.F64("privacy.noise_multiplier"));
    FEDGE_ASSIGN_OR_RETURN(uint64_t steps, r.U64("privacy.steps"));
    e.steps = static_cast<int64_t>(steps);
    if (!(e.sample_rate >= 0 && e.sample_rate <= 1) || !std::isfinite(e.noise_multiplier) ||
        e.noise_multiplier <= 0 || e.steps < 0) {
      return absl::InvalidArgumentError("privacy event out of range (sample rate in [0, 1], σ > 0, steps >= 0)");
    }
    t.privacy = e;
  }
  FEDGE_ASSIGN_OR_RETURN(uint32_t metrics, r.U32("metrics"));
  if (metrics > kMaxMetrics) return absl::InvalidArgumentError(absl::StrCat(metrics, " metrics is too many"));
  for (uint32_t i = 0; i < metrics; ++i) {
    FEDGE_ASSIGN_OR_RETURN(std::string name, r.Str("metric name"));
    FEDGE_ASSIGN_OR_RETURN(double value, r.F64("metric value"));
    t.metrics[name] = value;
  }
  FEDGE_ASSIGN_OR_RETURN(t.local.values, r.Floats("local"));
  FEDGE_RETURN_IF_ERROR(r.End());
  return reply;
}

}  // namespace fedge
