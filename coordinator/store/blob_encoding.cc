#include "coordinator/store/blob_encoding.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace fedge {
namespace {

void PutU64(std::string& out, uint64_t v) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(bytes, 8);
}

class Reader {
 public:
  Reader(std::string_view blob, std::string_view what) : rest_(blob), what_(what) {}

  bool U64(uint64_t* v) {
    if (rest_.size() < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= static_cast<uint64_t>(static_cast<unsigned char>(rest_[i])) << (8 * i);
    rest_.remove_prefix(8);
    return true;
  }
  bool Bytes(uint64_t n, std::string_view* out) {
    if (rest_.size() < n) return false;
    *out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }
  bool done() const { return rest_.empty(); }
  absl::Status Corrupt() const {
    return absl::DataLossError(absl::StrCat("the stored ", AsAbsl(what_), " is truncated or corrupt"));
  }

 private:
  std::string_view rest_;
  std::string_view what_;
};

}  // namespace

std::string EncodeFloatVectors(const std::vector<std::vector<float>>& vectors) {
  std::string out;
  PutU64(out, vectors.size());
  for (const std::vector<float>& v : vectors) {
    PutU64(out, v.size());
    out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<float>>> DecodeFloatVectors(std::string_view blob, std::string_view what) {
  Reader r(blob, what);
  uint64_t count = 0;
  if (!r.U64(&count) || count > blob.size()) return r.Corrupt();
  std::vector<std::vector<float>> vectors(count);
  for (std::vector<float>& v : vectors) {
    uint64_t n = 0;
    std::string_view bytes;
    if (!r.U64(&n) || n > blob.size() || !r.Bytes(n * sizeof(float), &bytes)) return r.Corrupt();
    v.resize(n);
    std::memcpy(v.data(), bytes.data(), bytes.size());
  }
  if (!r.done()) return r.Corrupt();
  return vectors;
}

std::string EncodeStrings(const std::vector<std::string>& strings) {
  std::string out;
  PutU64(out, strings.size());
  for (const std::string& s : strings) {
    PutU64(out, s.size());
    out.append(s);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> DecodeStrings(std::string_view blob, std::string_view what) {
  Reader r(blob, what);
  uint64_t count = 0;
  if (!r.U64(&count) || count > blob.size()) return r.Corrupt();
  std::vector<std::string> strings;
  strings.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t n = 0;
    std::string_view bytes;
    if (!r.U64(&n) || !r.Bytes(n, &bytes)) return r.Corrupt();
    strings.emplace_back(bytes);
  }
  if (!r.done()) return r.Corrupt();
  return strings;
}

std::string EncodeMetrics(const std::map<std::string, double>& metrics) {
  std::string out;
  PutU64(out, metrics.size());
  for (const auto& [k, v] : metrics) {
    PutU64(out, k.size());
    out.append(k);
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    PutU64(out, bits);
  }
  return out;
}

absl::StatusOr<std::map<std::string, double>> DecodeMetrics(std::string_view blob, std::string_view what) {
  Reader r(blob, what);
  uint64_t count = 0;
  if (!r.U64(&count) || count > blob.size()) return r.Corrupt();
  std::map<std::string, double> metrics;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t n = 0, bits = 0;
    std::string_view key;
    if (!r.U64(&n) || !r.Bytes(n, &key) || !r.U64(&bits)) return r.Corrupt();
    double v = 0;
    std::memcpy(&v, &bits, sizeof v);
    metrics[std::string(key)] = v;
  }
  if (!r.done()) return r.Corrupt();
  return metrics;
}

void AppendAckedEntry(const AckedUpdate& update, std::string& out) {
  PutU64(out, update.task_id.size());
  out.append(update.task_id);
  PutU64(out, update.device_id.size());
  out.append(update.device_id);
  PutU64(out, update.size != 0 ? update.size : update.bytes.size());
}

absl::StatusOr<std::vector<AckedUpdate>> DecodeAckedEntries(std::string_view blob, uint64_t round,
                                                           std::string_view what) {
  Reader r(blob, what);
  std::vector<AckedUpdate> updates;
  while (!r.done()) {
    uint64_t n = 0;
    std::string_view task, device;
    AckedUpdate u;
    if (!r.U64(&n) || !r.Bytes(n, &task) || !r.U64(&n) || !r.Bytes(n, &device) || !r.U64(&u.size)) {
      return r.Corrupt();
    }
    u.round = round;
    u.task_id = std::string(task);
    u.device_id = std::string(device);
    updates.push_back(std::move(u));
  }
  return updates;
}

}  // namespace fedge
