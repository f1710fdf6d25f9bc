#include "secagg/messages.h"

#include <random>
#include <string>

#include "gtest/gtest.h"
#include "secagg/internal/wire.h"

namespace fedge::secagg {
namespace {

SecAggParams Params() {
  return SecAggParams{.round_id = 77, .num_clients = 10, .neighbours = 4, .threshold = 2, .vector_length = 33,
                      .ring_bits = 13, .graph_seed = 5};
}

std::vector<std::string> ValidMessages(const SecAggParams& p) {
  AdvertiseKeys advertise{.client = 3};
  advertise.mask_key[0] = 1;
  advertise.encryption_key[31] = 2;
  KeyDirectory directory;
  directory.neighbours = {NeighbourKeys{.client = 1}, NeighbourKeys{.client = 7}};
  ShareKeys shares{.client = 2,
                   .shares = {EncryptedShare{.peer = 4, .ciphertext = std::string(kShareCiphertextBytes, 'c')}}};
  ShareBundle bundle{.shares = {EncryptedShare{.peer = 0, .ciphertext = std::string(kShareCiphertextBytes, 'd')},
                                EncryptedShare{.peer = 9, .ciphertext = std::string(kShareCiphertextBytes, 'e')}}};
  MaskedInput masked{.client = 5, .masked = std::vector<uint64_t>(p.vector_length, 8191)};
  UnmaskRequest request{.survivors = {1, 2}, .dropped = {8}};
  UnmaskResponse response{.client = 1,
                          .shares = {RevealedShare{.about = 2, .kind = ShareKind::kSelfMaskSeed, .values = {1, 2, 3}},
                                     RevealedShare{.about = 8, .kind = ShareKind::kMaskKey,
                                                   .values = {1, 2, 3, 4, 5}}}};
  return {Encode(advertise, p), Encode(directory, p), Encode(shares, p), Encode(bundle, p),
          Encode(masked, p),    Encode(request, p),   Encode(response, p)};
}

// Decodes `bytes` as message type `type`; OK means it was accepted.
absl::Status DecodeAs(int type, absl::string_view bytes, const SecAggParams& p) {
  switch (type) {
    case 1: return DecodeAdvertiseKeys(bytes, p).status();
    case 2: return DecodeKeyDirectory(bytes, p).status();
    case 3: return DecodeShareKeys(bytes, p).status();
    case 4: return DecodeShareBundle(bytes, p).status();
    case 5: return DecodeMaskedInput(bytes, p).status();
    case 6: return DecodeUnmaskRequest(bytes, p).status();
    default: return DecodeUnmaskResponse(bytes, p).status();
  }
}

TEST(MessagesTest, EveryMessageRoundTrips) {
  const SecAggParams p = Params();
  const std::vector<std::string> messages = ValidMessages(p);
  for (int type = 1; type <= 7; ++type) {
    const std::string& bytes = messages[type - 1];
    EXPECT_TRUE(DecodeAs(type, bytes, p).ok()) << type << ": " << DecodeAs(type, bytes, p);
    EXPECT_EQ(static_cast<int>(*PeekMessageType(bytes, p)), type);
  }
  auto masked = DecodeMaskedInput(messages[4], p);
  EXPECT_EQ(masked->masked, std::vector<uint64_t>(p.vector_length, 8191));
  EXPECT_EQ(Encode(*DecodeUnmaskResponse(messages[6], p), p), messages[6]);
  EXPECT_EQ(Encode(*DecodeKeyDirectory(messages[1], p), p), messages[1]);
}

TEST(MessagesTest, TruncatedExtendedOrForeignMessagesAreRejected) {
  const SecAggParams p = Params();
  SecAggParams other_round = p;
  other_round.round_id = 78;
  const std::vector<std::string> messages = ValidMessages(p);
  for (int type = 1; type <= 7; ++type) {
    const std::string& bytes = messages[type - 1];
    for (size_t len = 0; len < bytes.size(); ++len) {
      EXPECT_FALSE(DecodeAs(type, bytes.substr(0, len), p).ok()) << "type " << type << " len " << len;
    }
    EXPECT_FALSE(DecodeAs(type, bytes + "x", p).ok()) << type;
    EXPECT_FALSE(DecodeAs(type, bytes, other_round).ok()) << type;
    EXPECT_FALSE(DecodeAs(type % 7 + 1, bytes, p).ok()) << type;
  }
}

TEST(MessagesTest, IdsCountsAndValuesAreBounded) {
  const SecAggParams p = Params();
  EXPECT_FALSE(DecodeAdvertiseKeys(Encode(AdvertiseKeys{.client = 10}, p), p).ok());  // id >= n
  // Not ascending, repeated, more than k.
  EXPECT_FALSE(DecodeUnmaskRequest(Encode(UnmaskRequest{.survivors = {2, 1}, .dropped = {}}, p), p).ok());
  EXPECT_FALSE(DecodeUnmaskRequest(Encode(UnmaskRequest{.survivors = {1, 1}, .dropped = {}}, p), p).ok());
  EXPECT_FALSE(DecodeUnmaskRequest(Encode(UnmaskRequest{.survivors = {}, .dropped = {0, 1, 2, 3, 4}}, p), p).ok());
  UnmaskResponse response{.client = 1,
                          .shares = {RevealedShare{.about = 2, .kind = ShareKind::kSelfMaskSeed,
                                                   .values = {1, 2, (uint64_t{1} << 61) - 1}}}};
  EXPECT_FALSE(DecodeUnmaskResponse(Encode(response, p), p).ok());
  // A huge count in a short message must fail before allocating.
  std::string bytes = Encode(ShareBundle{}, p);
  bytes[kHeaderBytes + 3] = '\x7f';
  EXPECT_FALSE(DecodeShareBundle(bytes, p).ok());
  // Masked values above 2^ring_bits cannot be encoded (padding bits must be zero).
  std::string masked = Encode(MaskedInput{.client = 0, .masked = std::vector<uint64_t>(p.vector_length, 0)}, p);
  masked.back() = '\xff';
  EXPECT_FALSE(DecodeMaskedInput(masked, p).ok());
}

TEST(MessagesTest, RandomBytesNeverCrashTheDecoders) {
  const SecAggParams p = Params();
  const std::vector<std::string> messages = ValidMessages(p);
  std::mt19937_64 gen(11);
  for (int round = 0; round < 4000; ++round) {
    std::string bytes = messages[round % 7];
    const int flips = 1 + static_cast<int>(gen() % 4);
    for (int f = 0; f < flips; ++f) bytes[gen() % bytes.size()] = static_cast<char>(gen());
    if (gen() % 3 == 0) bytes.resize(gen() % (bytes.size() + 1));
    for (int type = 1; type <= 7; ++type) (void)DecodeAs(type, bytes, p);
  }
}

TEST(WireTest, PackingRoundTripsForEveryWidth) {
  std::mt19937_64 gen(3);
  for (int bits = 1; bits <= 64; ++bits) {
    const uint64_t mask = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    std::vector<uint64_t> values(37);
    for (uint64_t& v : values) v = gen() & mask;
    const std::string packed = internal::PackRing(values, bits);
    EXPECT_EQ(packed.size(), (37 * bits + 7) / 8);
    auto back = internal::UnpackRing(packed, 37, bits);
    ASSERT_TRUE(back.ok()) << bits;
    EXPECT_EQ(*back, values) << bits;
  }
}

}  // namespace
}  // namespace fedge::secagg
