// fedge-fuzz-seeds OUT_DIR REPO_ROOT
//
// Writes a seed corpus for every harness into OUT_DIR/<harness>/, made with
// the project's own tools: updates from UpdateEncoder for every codec of
// fuzz/update_codecs.h, fp32 and INT8 artifacts signed with SignArtifact
// (INT8 graphs from Int8ModelBuilder: the student CNN and random networks
// using every op), IDX files plain and gzip-compressed, the repository's own
// TOML files (simulations/scenarios/*.toml, tests/sim/*.toml and the
// ```toml examples of coordinator/README.md), ledgers from
// SerializePrivacyLedger, outbox records sealed with the public fuzzing
// key, and Federation sessions whose uploads carry real
// encoded updates. Every seed is deterministic; scripts/fuzz regenerates
// them instead of committing binary corpora.
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "inference/testing/test_models.h"
#include "client/outbox.h"
#include "coordinator/store/progress_file.h"
#include "compression/encoder.h"
#include "core/artifact.h"
#include "core/device_ca.h"
#include "core/file_util.h"
#include "core/random.h"
#include "core/strings.h"
#include "fuzz/federation_input.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_key.h"
#include "fuzz/secagg_round.h"
#include "fuzz/update_codecs.h"
#include "privacy/privacy_ledger.h"
#include "mqtt/envelope.h"
#include "mqtt/topics.h"
#include "proto/fedge.pb.h"

namespace fedge::fuzz {
namespace {

namespace fs = std::filesystem;

class SeedWriter {
 public:
  explicit SeedWriter(fs::path root) : root_(std::move(root)) {}

  void Write(const std::string& harness, const std::string& name, std::string_view bytes) {
    const fs::path dir = root_ / harness;
    fs::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.good()) Die(absl::StrCat("cannot write ", (dir / name).string()));
    ++count_[harness];
  }

  void PrintSummary() const {
    for (const auto& [harness, n] : count_) std::printf("%-26s %3d seeds\n", harness.c_str(), n);
  }

  [[noreturn]] static void Die(std::string_view message) {
    std::fprintf(stderr, "fedge-fuzz-seeds: %.*s\n", static_cast<int>(message.size()), message.data());
    std::exit(1);
  }

 private:
  fs::path root_;
  std::map<std::string, int> count_;
};

template <typename T>
T OrDie(absl::StatusOr<T> v, std::string_view what) {
  if (!v.ok()) SeedWriter::Die(absl::StrCat(AsAbsl(what), ": ", v.status().ToString()));
  return *std::move(v);
}

std::vector<float> Normal(size_t n, float stddev, uint64_t seed) {
  SeededRandom rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::string Encode(std::string_view codec, const std::vector<float>& delta, uint64_t seed) {
  auto encoder = OrDie(UpdateEncoder::Create(codec, static_cast<int64_t>(delta.size())), "encoder");
  SeededRandom rng(seed);
  return OrDie(encoder->Encode(delta, rng), absl::StrCat("encode ", AsAbsl(codec)));
}

void UpdateSeeds(SeedWriter& w) {
  for (size_t c = 0; c < kNumUpdateCodecs; ++c) {
    for (size_t n : {size_t{37}, size_t{300}}) {
      const std::string payload = Encode(kUpdateCodecs[c], Normal(n, 0.05f, c * 1000 + n), c);
      w.Write("update_fuzzer", absl::StrCat("codec", c, "_n", n),
              FuzzOutput().U8(static_cast<uint8_t>(c)).U16(static_cast<uint16_t>(n)).Rest(payload).str());
    }
    // Large magnitudes exercise scale computation at the top of the range.
    std::vector<float> big = Normal(64, 1e30f, c);
    w.Write("update_fuzzer", absl::StrCat("codec", c, "_large"),
            FuzzOutput().U8(static_cast<uint8_t>(c)).U16(64).Rest(Encode(kUpdateCodecs[c], big, c)).str());
  }
}

proto::ArtifactBody Fp32Body() {
  proto::ArtifactHeader header;
  header.set_model_id("fedge");
  header.set_version(3);
  header.set_parent_version(2);
  header.set_architecture("cnn_small");
  (*header.mutable_metrics())["test_accuracy"] = 0.81;
  return MakeFp32Body(header, TinyModel());
}

proto::ArtifactBody Int8Body(const Int8ModelBuilder& builder, uint64_t seed) {
  return OrDie(testing::BuildCalibrated(builder, 8, seed), "int8 model");
}

void ArtifactSeeds(SeedWriter& w) {
  const proto::ArtifactBody fp32 = Fp32Body();
  const proto::ArtifactBody int8 = Int8Body(testing::StudentCnn(1), 1);
  for (const auto& [name, body] : {std::pair{"fp32", &fp32}, std::pair{"int8", &int8}}) {
    const std::string signed_bytes = OrDie(SignArtifact(*body, FuzzSigningKey()), "sign");
    w.Write("artifact_fuzzer", absl::StrCat(name, "_signed"), FuzzOutput().U8(0).Rest(signed_bytes).str());
    w.Write("artifact_fuzzer", absl::StrCat(name, "_body"),
            FuzzOutput().U8(1).Rest(body->SerializeAsString()).str());
  }
}

void Int8Seeds(SeedWriter& w) {
  const proto::ArtifactBody student = Int8Body(testing::StudentCnn(2), 2);
  w.Write("int8_graph_fuzzer", "student_body", FuzzOutput().U8(0).Rest(student.SerializeAsString()).str());
  w.Write("int8_graph_fuzzer", "student_signed",
          FuzzOutput().U8(1).Rest(OrDie(SignArtifact(student, FuzzSigningKey()), "sign")).str());
  const proto::ArtifactBody separate = Int8Body(testing::StudentCnn(3, /*separate_relu=*/true), 3);
  w.Write("int8_graph_fuzzer", "student_relu_body", FuzzOutput().U8(0).Rest(separate.SerializeAsString()).str());
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    const proto::ArtifactBody body = Int8Body(testing::RandomNetwork(seed), seed);
    w.Write("int8_graph_fuzzer", absl::StrCat("random", seed, "_body"),
            FuzzOutput().U8(0).Rest(body.SerializeAsString()).str());
  }
}

std::string IdxBytes(const std::vector<uint32_t>& dims, const std::string& data) {
  std::string out = {'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((d >> shift) & 0xff));
  }
  return out + data;
}

std::string Gzip(std::string_view in) {
  z_stream zs{};
  // 15 + 16: zlib window with a gzip header and trailer, as gzip(1) writes.
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    SeedWriter::Die("deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) SeedWriter::Die("deflate failed");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void IdxSeeds(SeedWriter& w) {
  std::string pixels(3 * 28 * 28, '\0');
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>((i * 7) % 256);
  const std::string images = IdxBytes({3, 28, 28}, pixels);
  const std::string labels = IdxBytes({3}, std::string("\x07\x02\x09", 3));
  w.Write("idx_fuzzer", "images-idx3-ubyte", images);
  w.Write("idx_fuzzer", "images-idx3-ubyte.gz", Gzip(images));
  w.Write("idx_fuzzer", "labels-idx1-ubyte", labels);
  w.Write("idx_fuzzer", "labels-idx1-ubyte.gz", Gzip(labels));
  w.Write("idx_fuzzer", "rank4", IdxBytes({2, 1, 2, 2}, "abcdefgh"));
}

// Enrolment CSRs as fedge-device sends them, for the id csr_fuzzer asks
// for and for another one.
void CsrSeeds(SeedWriter& w) {
  for (const char* id : {"fuzz-device", "other-device"}) {
    const std::string key = OrDie(GenerateDeviceKey(), "device key");
    w.Write("csr_fuzzer", id, OrDie(MakeCsr(key, id), "CSR"));
  }
}

// MQTT messages as MqttTransport and MqttBridge send them: a request of
// every RPC on its topic, and two responses (mqtt_envelope_fuzzer).
void MqttSeeds(SeedWriter& w) {
  const mqtt::TopicLayout topics("fedge");
  proto::UploadRequest upload;
  upload.set_device_id("device-0");
  upload.set_data("update bytes");
  upload.set_final(true);
  proto::PollTaskRequest poll;
  poll.set_device_id("device-0");
  const std::pair<mqtt::Rpc, std::string> requests[] = {
      {mqtt::Rpc::kUpload, upload.SerializeAsString()},
      {mqtt::Rpc::kPollTask, poll.SerializeAsString()},
  };
  for (const auto& [rpc, body] : requests) {
    w.Write("mqtt_envelope_fuzzer", std::string(mqtt::RpcName(rpc)),
            FuzzOutput().Bytes(topics.Request("device-0", rpc)).Rest(mqtt::EncodeRequest(7, body)).str());
  }
  w.Write("mqtt_envelope_fuzzer", "response-ok",
          FuzzOutput().Bytes(topics.Response("device-0")).Rest(mqtt::EncodeResponse(7, absl::OkStatus(), "x")).str());
  w.Write("mqtt_envelope_fuzzer", "response-error",
          FuzzOutput()
              .Bytes(topics.Response("device-0"))
              .Rest(mqtt::EncodeResponse(8, absl::NotFoundError("unregistered"), ""))
              .str());
}

// The ```toml blocks of a Markdown file.
std::vector<std::string> TomlBlocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  size_t pos = 0;
  while ((pos = markdown.find("```toml\n", pos)) != std::string::npos) {
    const size_t start = pos + 8;
    const size_t end = markdown.find("```", start);
    if (end == std::string::npos) break;
    blocks.push_back(markdown.substr(start, end - start));
    pos = end + 3;
  }
  return blocks;
}

// CSV example files as a sensor logger or the e2e spool producer writes
// them: the harness's format bytes, then the text.
void CsvSeeds(SeedWriter& w) {
  auto seed = [&w](const std::string& name, uint8_t features, uint8_t label_column, uint8_t delimiter, bool header,
                   uint8_t classes, const std::string& text) {
    w.Write("csv_fuzzer", name,
            FuzzOutput().U8(features - 1).U8(label_column).U8(delimiter).U8(header ? 1 : 0).U8(200).U8(classes - 1)
                .Rest(text)
                .str());
  };
  // label_column = features + 1 selects the last column.
  seed("sensor_header", 3, 4, 0, true, 4, "t0,t1,t2,label\n1.5,-2e-1,+3,2\n0.25,1e3,7,0\n");
  seed("label_first_semicolon", 2, 0, 1, false, 3, "1;0.5;0.25\r\n2;1.5;2.5\r\n");
  seed("missing_and_nonfinite", 4, 5, 0, false, 2, ",NaN,-inf,1,0\n1,2,3,4,1\n# comment\n\n");
  seed("bad_rows", 2, 3, 0, false, 2, "1,2\n1,x,0\n1,2,7\n0x10,1,0\n1e400,1,0\n1,2,0\n");
  seed("tab_separated", 3, 4, 2, false, 10, "0\t0.5\t1\t9\n1\t1\t1\t3");
  seed("pixels", 8, 9, 0, false, 10, "0,0,12,255,255,12,0,0,7\n255,255,255,255,0,0,0,0,1\n");
}

void ConfigSeeds(SeedWriter& w, const fs::path& repo) {
  constexpr uint8_t kGeneric = 0, kCoordinator = 1, kScenario = 2;
  int scenarios = 0;
  for (const fs::path& dir : {repo / "simulations/scenarios", repo / "tests/sim"}) {
    if (!fs::is_directory(dir)) continue;
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
      if (e.path().extension() != ".toml") continue;
      const std::string text = OrDie(ReadFile(e.path().string()), "read scenario");
      w.Write("config_fuzzer", absl::StrCat("scenario_", e.path().stem().string()),
              FuzzOutput().U8(kScenario).Rest(text).str());
      ++scenarios;
    }
  }
  if (scenarios == 0) SeedWriter::Die(absl::StrCat("no scenario files under ", repo.string(), ": wrong REPO_ROOT?"));
  const std::vector<std::string> examples =
      TomlBlocks(OrDie(ReadFile((repo / "coordinator/README.md").string()), "read coordinator/README.md"));
  for (size_t i = 0; i < examples.size(); ++i) {
    w.Write("config_fuzzer", absl::StrCat("coordinator_readme", i), FuzzOutput().U8(kCoordinator).Rest(examples[i]).str());
  }
  w.Write("config_fuzzer", "generic",
          FuzzOutput()
              .U8(kGeneric)
              .Rest("rounds = 5\nseed = -2\nrate = 0.5\nenabled = true\nname = \"x\"\nkind = \"a\"\n"
                    "values = [1.0, 2.5]\n[table]\nx = 1e10\n[table.inner]\ny = -7\n"
                    "[[items]]\nname = \"first\"\nweight = 2.0\n[[items]]\nname = \"second\"\n")
              .str());
}

void LedgerSeeds(SeedWriter& w) {
  w.Write("ledger_fuzzer", "empty", SerializePrivacyLedger({}));
  w.Write("ledger_fuzzer", "one", SerializePrivacyLedger({{0.01, 1.1, 500}}));
  w.Write("ledger_fuzzer", "several",
          SerializePrivacyLedger({{0.01, 1.1, 500}, {0.02, 0.8, 120}, {1.0, 5.0, 3}, {0.0, 2.0, 0}}));
}

// The honest messages of a small secure-aggregation round (fuzz/secagg_round.h).
void SecAggSeeds(SeedWriter& w) {
  for (const auto& [name, bytes] : SecAggSeedInputs()) w.Write("secagg_fuzzer", name, bytes);
}

// Slot files as ProgressFile writes them: a first record, and one of a
// later batch of the same round (a longer list).
void ProgressSeeds(SeedWriter& w) {
  const std::string dir = (std::filesystem::temp_directory_path() / "fedge-progress-seeds").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::unique_ptr<ProgressFile> file = OrDie(ProgressFile::Open(dir, {.sync = false}), "open the seed progress");
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<AckedUpdate> acked(2);
    for (int i = 0; i < 2; ++i) {
      acked[i].task_id = absl::StrCat("r4-device-", batch * 2 + i);
      acked[i].device_id = absl::StrCat("device-", batch * 2 + i);
      acked[i].size = 1000 + batch;
    }
    if (absl::Status s = file->Write(4, std::string(64 + batch, static_cast<char>('a' + batch)), acked); !s.ok()) {
      SeedWriter::Die(absl::StrCat("write a seed record: ", s.ToString()));
    }
  }
  for (int slot = 0; slot < 2; ++slot) {
    std::string bytes = OrDie(ReadFile(absl::StrCat(dir, "/progress.", slot)), "read a seed slot");
    bytes.resize(bytes.find_last_not_of('\0') + 1);  // without the zeros a slot grows by
    w.Write("progress_fuzzer", absl::StrCat("slot", slot), bytes);
  }
  std::filesystem::remove_all(dir);
}

void OutboxSeeds(SeedWriter& w) {
  const std::string dir = (std::filesystem::temp_directory_path() / "fedge-outbox-seeds").string();
  std::filesystem::remove_all(dir);
  std::unique_ptr<Outbox> outbox =
      OrDie(Outbox::Open({.dir = dir}, kFuzzOutboxDevice, FuzzSealingKey()), "open the seed outbox");
  const std::string updates[] = {"", "a short update", std::string(300, '\x7f')};
  for (uint64_t round = 1; round <= 3; ++round) {
    OrDie(outbox->Put({.header = {.round = round, .model_version = round - 1,
                                  .task_id = absl::StrCat("r", round, "-device-", round),
                                  .sealed_at = absl::FromUnixSeconds(1700000000 + round)},
                       .update = updates[round - 1]}),
          "seal a seed record");
    w.Write("outbox_fuzzer", absl::StrCat("round", round),
            OrDie(ReadFile(absl::StrCat(dir, "/", round, ".outbox")), "read a seed record"));
  }
  std::filesystem::remove_all(dir);
}

// One upload of `update` (its identity patched in by the harness) in
// `chunks` equal parts, the last one final.
void AppendUpload(FuzzOutput& out, uint8_t device, const std::string& update, int chunks) {
  out.U8(kUpload).U8(device).U8(kPatchIdentity).Bytes(update).U8(static_cast<uint8_t>(chunks - 1));
  // PatchIdentity adds a few dozen bytes; equal parts of the update's size
  // are close enough, and the last chunk always takes the rest.
  const uint16_t part = static_cast<uint16_t>(update.size() / chunks + 1);
  for (int c = 0; c < chunks; ++c) out.U16(part).Bool(false).U32(0).Bool(c == chunks - 1);
}

std::string EncodedUpdateBytes(std::string_view codec, uint64_t seed, uint64_t examples) {
  const int64_t n = TinyModel().layout.num_elements();
  proto::EncodedUpdate u;
  u.set_payload(Encode(codec.empty() ? "fp32" : codec, Normal(static_cast<size_t>(n), 0.01f, seed), seed));
  u.set_num_examples(examples);
  (*u.mutable_metrics())["train_loss"] = 0.4;
  (*u.mutable_metrics())["train_accuracy"] = 0.9;
  return u.SerializeAsString();
}

// The gateway harness reads the federation harness's input format.
void WriteFederationSeed(SeedWriter& w, const std::string& name, const std::string& bytes) {
  for (const char* harness : {"federation_submit_fuzzer", "gateway_submit_fuzzer"}) w.Write(harness, name, bytes);
}

void FederationSeeds(SeedWriter& w) {
  for (size_t c = 0; c <= kNumUpdateCodecs; ++c) {
    const std::string_view codec = c == 0 ? std::string_view() : kUpdateCodecs[c - 1];
    FuzzOutput out;
    out.U8(static_cast<uint8_t>(c)).U8(0).U8(1);  // fedavg, two devices
    AppendUpload(out, 0, EncodedUpdateBytes(codec, c, 20), 1);
    AppendUpload(out, 1, EncodedUpdateBytes(codec, c + 100, 5), 3);
    out.U8(kTick).U8(0);
    WriteFederationSeed(w, absl::StrCat("codec", c), out.str());
  }
  for (size_t s = 0; s < kNumStrategies; ++s) {
    FuzzOutput out;
    out.U8(0).U8(static_cast<uint8_t>(s)).U8(2);  // default codec, three devices
    for (uint8_t d = 0; d < 3; ++d) AppendUpload(out, d, EncodedUpdateBytes("", s * 10 + d, 10 + d), 1 + d);
    out.U8(kTick).U8(0);
    // Round 2: poll for the new task, report, download, upload again.
    out.U8(kPoll).U8(0).U8(1);
    out.U8(kReport).U8(0).Bytes("loss").U64(0x3fe0000000000000ULL).U8(1);
    out.U8(kDownload).U8(0).U32(0).U16(512);
    AppendUpload(out, 0, EncodedUpdateBytes("", s * 10 + 7, 4), 2);
    out.U8(kTick).U8(255);
    WriteFederationSeed(w, absl::StrCat("strategy_", AsAbsl(kStrategies[s])), out.str());
  }
}

}  // namespace
}  // namespace fedge::fuzz

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fedge-fuzz-seeds OUT_DIR REPO_ROOT\n");
    return 2;
  }
  using namespace fedge::fuzz;  // NOLINT: a small main
  SeedWriter w{std::filesystem::path(argv[1])};
  const std::filesystem::path repo(argv[2]);
  UpdateSeeds(w);
  ArtifactSeeds(w);
  Int8Seeds(w);
  IdxSeeds(w);
  CsvSeeds(w);
  ConfigSeeds(w, repo);
  LedgerSeeds(w);
  SecAggSeeds(w);
  OutboxSeeds(w);
  ProgressSeeds(w);
  FederationSeeds(w);
  CsrSeeds(w);
  MqttSeeds(w);
  w.PrintSummary();
  return 0;
}
