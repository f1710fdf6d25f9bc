// secagg_fuzzer: the secure-aggregation message boundary (secagg/), on both
// sides, in the honest round of fuzz/secagg_round.h.
//
// Input: U8 mode, then
//   mode 0 (decoders):  U8 type (1..7 after mod), Rest = message bytes;
//   mode 1 (server):    U8 stage (0..3), U8 sender (0..4; 4 is no client),
//                       Rest = the message the server receives first in that
//                       stage, before the honest ones are replayed;
//   mode 2 (client):    U8 stage (0..2), Rest = the server message client 0
//                       gets at the end of that stage instead of the honest one.
//
// Invariants beyond "no crash, no sanitizer report":
//   - an accepted message re-encodes to exactly its bytes (one encoding);
//   - the server: a rejected message leaves the round intact: the honest
//     replay then finishes with the exact sum of the four inputs; an
//     accepted one (it may take an honest client's place) ends the round
//     with a sum or a clean status;
//   - the client: a rejected message aborts the session (no later method
//     succeeds); the honest bytes are always accepted.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/secagg_round.h"
#include "secagg/messages.h"

namespace fedge::fuzz {
namespace {

using secagg::SecAggParams;

std::string Reencode(int type, absl::string_view bytes, const SecAggParams& p, bool& ok) {
  ok = true;
  switch (type) {
#define FEDGE_SECAGG_CASE(n, Decode)                  \
  case n: {                                           \
    auto m = secagg::Decode(bytes, p);                \
    if (!m.ok()) break;                               \
    return secagg::Encode(*m, p);                     \
  }
    FEDGE_SECAGG_CASE(1, DecodeAdvertiseKeys)
    FEDGE_SECAGG_CASE(2, DecodeKeyDirectory)
    FEDGE_SECAGG_CASE(3, DecodeShareKeys)
    FEDGE_SECAGG_CASE(4, DecodeShareBundle)
    FEDGE_SECAGG_CASE(5, DecodeMaskedInput)
    FEDGE_SECAGG_CASE(6, DecodeUnmaskRequest)
    FEDGE_SECAGG_CASE(7, DecodeUnmaskResponse)
#undef FEDGE_SECAGG_CASE
  }
  ok = false;
  return "";
}

void FuzzDecoders(FuzzInput& in) {
  const int type = in.U8() % 7 + 1;
  const std::string_view bytes = in.Rest();
  bool ok = false;
  const std::string again = Reencode(type, absl::string_view(bytes.data(), bytes.size()), SecAggFuzzParams(), ok);
  if (ok) FEDGE_FUZZ_CHECK(again == bytes, absl::StrCat("type ", type, " message has a second encoding"));
}

absl::Status Deliver(secagg::ServerSession& server, int stage, uint32_t sender, absl::string_view bytes) {
  switch (stage) {
    case 0: return server.OnAdvertiseKeys(sender, bytes);
    case 1: return server.OnShareKeys(sender, bytes);
    case 2: return server.OnMaskedInput(sender, bytes);
    default: return server.OnUnmaskResponse(sender, bytes);
  }
}

absl::Status Close(secagg::ServerSession& server, int stage) {
  switch (stage) {
    case 0: return server.CloseAdvertise().status();
    case 1: return server.CloseShares().status();
    case 2: return server.CloseMaskedInput().status();
    default: return absl::OkStatus();
  }
}

void FuzzServer(FuzzInput& in) {
  const int target = in.U8() % 4;
  const uint32_t sender = in.U8() % (kSecAggClients + 1);
  const std::string_view hostile = in.Rest();
  const SecAggTranscriptData& t = SecAggTranscript();
  auto server = *secagg::ServerSession::Create(SecAggFuzzParams());
  bool accepted = false;
  for (int stage = 0; stage < 4; ++stage) {
    if (stage == target) {
      accepted = Deliver(*server, stage, sender, absl::string_view(hostile.data(), hostile.size())).ok();
    }
    for (uint32_t c = 0; c < kSecAggClients; ++c) (void)Deliver(*server, stage, c, t.from_client[stage][c]);
    const absl::Status closed = Close(*server, stage);
    FEDGE_FUZZ_CHECK(closed.ok() || accepted, closed.ToString());
    if (!closed.ok()) return;
  }
  absl::StatusOr<secagg::SecAggResult> result = server->Finish();
  if (accepted) return;  // a sum or a clean status; either is fine
  FEDGE_FUZZ_CHECK(result.ok(), result.status().ToString());
  FEDGE_FUZZ_CHECK(result->sum == std::vector<uint64_t>(16, 100 + 101 + 102 + 103), "wrong sum after a rejection");
}

void FuzzClient(FuzzInput& in) {
  const int target = in.U8() % 3;
  const std::string_view hostile = in.Rest();
  const SecAggTranscriptData& t = SecAggTranscript();
  auto random = SecAggFuzzRandom(0);
  auto client = *secagg::ClientSession::Create(SecAggFuzzParams(), 0, *random);
  (void)*client->Advertise();
  for (int stage = 0; stage <= target; ++stage) {
    const std::string_view bytes = stage == target ? hostile : std::string_view(t.to_client[stage][0]);
    const absl::string_view b(bytes.data(), bytes.size());
    absl::StatusOr<std::string> reply = stage == 0   ? client->OnKeyDirectory(b)
                                        : stage == 1 ? client->OnShareBundle(b, SecAggFuzzInput(0))
                                                     : client->OnUnmaskRequest(b);
    if (bytes == t.to_client[stage][0]) FEDGE_FUZZ_CHECK(reply.ok(), reply.status().ToString());
    if (!reply.ok()) {
      FEDGE_FUZZ_CHECK(client->aborted(), "a rejected server message did not abort the client");
      FEDGE_FUZZ_CHECK(!client->OnUnmaskRequest(t.to_client[2][0]).ok(), "an aborted client still unmasks");
      return;
    }
  }
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::FuzzInput in(data, size);
  switch (in.U8() % 3) {
    case 0: fedge::fuzz::FuzzDecoders(in); break;
    case 1: fedge::fuzz::FuzzServer(in); break;
    default: fedge::fuzz::FuzzClient(in); break;
  }
  return 0;
}
