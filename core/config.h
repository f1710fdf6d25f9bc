// File: core/config.h
//
// Typed reading of TOML configuration (scenarios, coordinator and device
// config files) with the errors a user can act on: wrong type, out-of-range
// value, and unknown keys (usually typos), each naming the file and the full
// key path. Reading never stops at the first problem; `Finish()` reports
// all of them at once.
//
// Usage:
//   FEDGE_ASSIGN_OR_RETURN(ConfigFile file, ConfigFile::Load(path));
//   ConfigSection root = file.root();
//   root.Read("rounds", &opts.rounds, 1, 100000);
//   ConfigSection data = root.Section("data");
//   data.Read("partition", &opts.partition, {"iid", "dirichlet"});
//   FEDGE_RETURN_IF_ERROR(file.Finish());
//
// Thread-safety: not thread-safe; read a file from one thread.
#ifndef FEDGE_CORE_CONFIG_H_
#define FEDGE_CORE_CONFIG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace fedge {

namespace internal {
struct ConfigState;
}

// A view of one table of a ConfigFile. Cheap to copy; must not outlive
// the ConfigFile it came from.
class ConfigSection {
 public:
  bool Has(std::string_view key) const;
  // True when `table` is a sub-table holding `key`. Unlike Section(), marks
  // nothing as read (for checks such as refusing an old key).
  bool HasNested(std::string_view table, std::string_view key) const;
  // True when `key` exists and is not a table.
  bool HasValue(std::string_view key) const;
  // Each Read leaves `*out` unchanged when the key is absent, and records an
  // error when the value has the wrong type or lies outside [lo, hi].
  void Read(std::string_view key, double* out, double lo, double hi);
  void Read(std::string_view key, int64_t* out, int64_t lo, int64_t hi);
  void Read(std::string_view key, int* out, int lo, int hi);
  void Read(std::string_view key, bool* out);
  // When `allowed` is non-empty, the value must be one of them.
  void Read(std::string_view key, std::string* out, const std::vector<std::string>& allowed = {});
  void Read(std::string_view key, std::vector<double>* out);
  // A nested table; absent tables read as empty. Records an error if `key`
  // exists but is not a table.
  ConfigSection Section(std::string_view key);
  // An array of tables (`[[key]]`); empty when absent.
  std::vector<ConfigSection> Sections(std::string_view key);
  // Records a custom error against this section (e.g. a cross-field rule).
  void Error(std::string_view message);
  // Marks `key` as known without reading it, so Finish() does not report it:
  // for a key the caller refuses with its own message, or a table that
  // another binary reads from the same file.
  void Ignore(std::string_view key) { MarkUsed(key); }
  const std::string& path() const { return path_; }

 private:
  friend class ConfigFile;
  ConfigSection(internal::ConfigState* state, toml::table* table, std::string path, size_t index);
  std::string KeyPath(std::string_view key) const;
  void MarkUsed(std::string_view key);

  internal::ConfigState* state_;
  toml::table* table_;  // null for an absent section
  std::string path_;
  size_t index_;        // into state_->sections
};

class ConfigFile {
 public:
  // kNotFound if the file is missing; kInvalidArgument with line and column
  // for TOML syntax errors.
  static absl::StatusOr<ConfigFile> Load(const std::string& path);
  // Parses TOML text; `source` names it in messages.
  static absl::StatusOr<ConfigFile> Parse(std::string_view text, std::string_view source);

  ConfigFile(ConfigFile&&) noexcept;
  ConfigFile& operator=(ConfigFile&&) noexcept;
  ~ConfigFile();

  ConfigSection root();
  // OK when every Read succeeded and every key of every visited section was
  // read; otherwise kInvalidArgument listing each problem on its own line.
  absl::Status Finish() const;

 private:
  ConfigFile();
  std::unique_ptr<internal::ConfigState> state_;
};

// The value of `--config PATH` or `--config=PATH` in argv, or "". Binaries
// read the file before parsing their flags, so flags override it and
// `--help` shows the file's values as defaults.
std::string ConfigPathFromArgs(int argc, char** argv);

}  // namespace fedge

#endif  // FEDGE_CORE_CONFIG_H_
