#include "secagg/testing/round_driver.h"

#include <cmath>
#include <memory>
#include <random>
#include <string>

#include "secagg/client_session.h"
#include "secagg/internal/crypto.h"
#include "secagg/random.h"

namespace fedge::secagg::testing {
namespace {

// Marks round(fraction * alive) of the alive clients as dropped.
void DropSome(std::vector<bool>& alive, double fraction, std::mt19937_64& gen) {
  std::vector<uint32_t> candidates;
  for (uint32_t i = 0; i < alive.size(); ++i) {
    if (alive[i]) candidates.push_back(i);
  }
  const size_t drop = static_cast<size_t>(std::llround(fraction * static_cast<double>(candidates.size())));
  for (size_t k = 0; k < drop && !candidates.empty(); ++k) {
    const size_t pick = gen() % candidates.size();
    alive[candidates[pick]] = false;
    candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(pick));
  }
}

}  // namespace

RoundOutcome RunRound(const RoundOptions& options, const std::vector<std::vector<uint64_t>>& inputs) {
  RoundOutcome outcome;
  const SecAggParams& params = options.params;
  auto server_or = ServerSession::Create(params);
  if (!server_or.ok()) {
    outcome.result = server_or.status();
    return outcome;
  }
  ServerSession& server = **server_or;
  std::vector<std::unique_ptr<SeededDrbg>> randoms;
  std::vector<std::unique_ptr<ClientSession>> clients;
  for (uint32_t i = 0; i < params.num_clients; ++i) {
    randoms.push_back(std::make_unique<SeededDrbg>(options.seed * 1000003 + i));
    clients.push_back(*ClientSession::Create(params, i, *randoms.back()));
  }
  std::vector<bool> alive(params.num_clients, true);
  std::mt19937_64 gen(options.seed);
  auto collect_costs = [&] {
    outcome.server_costs = server.costs();
    for (const auto& c : clients) outcome.client_costs.push_back(c->costs());
  };
  auto finish = [&](absl::Status status) {
    outcome.result = std::move(status);
    collect_costs();
    return outcome;
  };

  for (uint32_t i = 0; i < params.num_clients; ++i) {
    absl::StatusOr<std::string> m = clients[i]->Advertise();
    if (!m.ok() || !server.OnAdvertiseKeys(i, *m).ok()) alive[i] = false;
  }
  DropSome(alive, options.drop_after[0], gen);
  absl::StatusOr<std::vector<OutgoingMessage>> directories = server.CloseAdvertise();
  if (!directories.ok()) return finish(directories.status());
  for (const OutgoingMessage& d : *directories) {
    if (!alive[d.client]) continue;
    absl::StatusOr<std::string> m = clients[d.client]->OnKeyDirectory(d.bytes);
    if (!m.ok() || !server.OnShareKeys(d.client, *m).ok()) alive[d.client] = false;
  }
  DropSome(alive, options.drop_after[1], gen);
  absl::StatusOr<std::vector<OutgoingMessage>> bundles = server.CloseShares();
  if (!bundles.ok()) return finish(bundles.status());
  for (const OutgoingMessage& b : *bundles) {
    if (!alive[b.client]) continue;
    absl::StatusOr<std::string> m = clients[b.client]->OnShareBundle(b.bytes, inputs[b.client]);
    if (!m.ok()) {
      alive[b.client] = false;
      continue;
    }
    if (options.on_masked_input) options.on_masked_input(b.client, *m);
    if (!server.OnMaskedInput(b.client, *m).ok()) alive[b.client] = false;
  }
  DropSome(alive, options.drop_after[2], gen);
  absl::StatusOr<std::vector<OutgoingMessage>> requests = server.CloseMaskedInput();
  if (!requests.ok()) return finish(requests.status());
  for (const OutgoingMessage& r : *requests) {
    if (!alive[r.client]) continue;
    absl::StatusOr<std::string> m = clients[r.client]->OnUnmaskRequest(r.bytes);
    if (m.ok()) (void)server.OnUnmaskResponse(r.client, *m);
  }
  absl::StatusOr<SecAggResult> result = server.Finish();
  if (!result.ok()) return finish(result.status());
  const uint64_t mask = internal::RingMask(params.ring_bits);
  outcome.expected_sum.assign(params.vector_length, 0);
  for (uint32_t u : result->contributors) {
    for (size_t j = 0; j < params.vector_length; ++j) {
      outcome.expected_sum[j] = (outcome.expected_sum[j] + inputs[u][j]) & mask;
    }
  }
  collect_costs();
  outcome.result = std::move(result);
  return outcome;
}

std::vector<std::vector<uint64_t>> RandomInputs(uint32_t n, uint64_t length, uint64_t max_value, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<uint64_t> dist(0, max_value);
  std::vector<std::vector<uint64_t>> inputs(n, std::vector<uint64_t>(length));
  for (auto& v : inputs) {
    for (uint64_t& x : v) x = dist(gen);
  }
  return inputs;
}

}  // namespace fedge::secagg::testing
