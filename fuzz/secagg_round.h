// File: fuzz/secagg_round.h
//
// The honest transcript of one small secure-aggregation round (secagg/):
// 4 clients on the complete graph, threshold 2, 16 elements of 12 bits,
// every client's randomness from a fixed SeededDrbg. Shared by
// secagg_fuzzer (which replays it and swaps one message for fuzzer bytes)
// and the seed maker (which writes its messages as seeds).
//
// Thread-safety: SecAggTranscript() builds once and is then immutable.
#ifndef FEDGE_FUZZ_SECAGG_ROUND_H_
#define FEDGE_FUZZ_SECAGG_ROUND_H_

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "secagg/client_session.h"
#include "secagg/params.h"
#include "secagg/random.h"
#include "secagg/server_session.h"

namespace fedge::fuzz {

inline constexpr uint32_t kSecAggClients = 4;

inline secagg::SecAggParams SecAggFuzzParams() {
  return secagg::SecAggParams{.round_id = 5, .num_clients = kSecAggClients, .neighbours = 4, .threshold = 2,
                              .vector_length = 16, .ring_bits = 12, .graph_seed = 1};
}

inline std::vector<uint64_t> SecAggFuzzInput(uint32_t client) { return std::vector<uint64_t>(16, 100 + client); }

inline std::unique_ptr<secagg::SeededDrbg> SecAggFuzzRandom(uint32_t client) {
  return std::make_unique<secagg::SeededDrbg>(1000 + client);
}

struct SecAggTranscriptData {
  // [stage][client]: what the client sent in stage 0..3.
  std::vector<std::string> from_client[4];
  // [stage][client]: what the server sent at the end of stage 0..2.
  std::vector<std::string> to_client[3];
};

inline const SecAggTranscriptData& SecAggTranscript() {
  static const SecAggTranscriptData* data = [] {
    auto* t = new SecAggTranscriptData;
    const secagg::SecAggParams params = SecAggFuzzParams();
    auto server = *secagg::ServerSession::Create(params);
    std::vector<std::unique_ptr<secagg::SeededDrbg>> randoms;
    std::vector<std::unique_ptr<secagg::ClientSession>> clients;
    for (uint32_t i = 0; i < kSecAggClients; ++i) {
      randoms.push_back(SecAggFuzzRandom(i));
      clients.push_back(*secagg::ClientSession::Create(params, i, *randoms.back()));
      t->from_client[0].push_back(*clients[i]->Advertise());
      if (!server->OnAdvertiseKeys(i, t->from_client[0][i]).ok()) std::abort();
    }
    for (int stage = 0; stage < 3; ++stage) {
      absl::StatusOr<std::vector<secagg::OutgoingMessage>> out =
          stage == 0 ? server->CloseAdvertise() : stage == 1 ? server->CloseShares() : server->CloseMaskedInput();
      if (!out.ok() || out->size() != kSecAggClients) std::abort();
      for (const secagg::OutgoingMessage& m : *out) {
        t->to_client[stage].push_back(m.bytes);
        absl::StatusOr<std::string> reply = stage == 0   ? clients[m.client]->OnKeyDirectory(m.bytes)
                                            : stage == 1 ? clients[m.client]->OnShareBundle(
                                                               m.bytes, SecAggFuzzInput(m.client))
                                                         : clients[m.client]->OnUnmaskRequest(m.bytes);
        if (!reply.ok()) std::abort();
        t->from_client[stage + 1].push_back(*reply);
        const absl::Status s = stage == 0   ? server->OnShareKeys(m.client, *reply)
                               : stage == 1 ? server->OnMaskedInput(m.client, *reply)
                                            : server->OnUnmaskResponse(m.client, *reply);
        if (!s.ok()) std::abort();
      }
    }
    if (!server->Finish().ok()) std::abort();
    return t;
  }();
  return *data;
}

// Seeds for secagg_fuzzer (named inputs in its format): every honest
// message for the decoders, the server and client 0.
inline std::vector<std::pair<std::string, std::string>> SecAggSeedInputs() {
  const SecAggTranscriptData& t = SecAggTranscript();
  std::vector<std::pair<std::string, std::string>> seeds;
  auto add = [&](std::string name, std::initializer_list<uint8_t> head, const std::string& body) {
    std::string bytes(head.begin(), head.end());
    seeds.emplace_back(std::move(name), bytes + body);
  };
  for (int stage = 0; stage < 4; ++stage) {
    const std::string& m = t.from_client[stage][1];
    add("decode_client_" + std::to_string(stage), {0, static_cast<uint8_t>(2 * stage)}, m);
    add("server_" + std::to_string(stage), {1, static_cast<uint8_t>(stage), 1}, m);
  }
  for (int stage = 0; stage < 3; ++stage) {
    const std::string& m = t.to_client[stage][0];
    add("decode_server_" + std::to_string(stage), {0, static_cast<uint8_t>(2 * stage + 1)}, m);
    add("client_" + std::to_string(stage), {2, static_cast<uint8_t>(stage)}, m);
  }
  return seeds;
}

}  // namespace fedge::fuzz

#endif  // FEDGE_FUZZ_SECAGG_ROUND_H_
