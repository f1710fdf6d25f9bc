#include "core/config.h"

#include <toml++/toml.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_util.h"
#include "core/strings.h"
#include "core/status.h"
#include "core/toml_guard.h"

namespace fedge {
namespace internal {

struct ConfigState {
  std::string source;
  toml::table document;
  std::vector<std::string> errors;
  struct Visited {
    toml::table* table;
    std::string path;
    absl::flat_hash_set<std::string> used;
  };
  std::vector<Visited> sections;  // every section handed out, for unknown-key checks
};

}  // namespace internal

ConfigSection::ConfigSection(internal::ConfigState* state, toml::table* table, std::string path, size_t index)
    : state_(state), table_(table), path_(std::move(path)), index_(index) {}

std::string ConfigSection::KeyPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", AsAbsl(key));
}

void ConfigSection::MarkUsed(std::string_view key) { state_->sections[index_].used.insert(std::string(key)); }

void ConfigSection::Error(std::string_view message) {
  state_->errors.push_back(absl::StrCat(state_->source, ": ", path_.empty() ? "" : path_ + ": ", AsAbsl(message)));
}

bool ConfigSection::Has(std::string_view key) const { return table_ != nullptr && table_->contains(key); }

bool ConfigSection::HasNested(std::string_view table, std::string_view key) const {
  if (!Has(table)) return false;
  const toml::table* sub = table_->get(table)->as_table();
  return sub != nullptr && sub->contains(key);
}

bool ConfigSection::HasValue(std::string_view key) const { return Has(key) && !table_->get(key)->is_table(); }

namespace {

template <typename T>
void ReadNumber(ConfigSection& s, toml::table* table, std::string_view key, const std::string& key_path, T* out,
                T lo, T hi, const std::function<void(std::string_view)>& error) {
  if (table == nullptr || !table->contains(key)) return;
  const toml::node* node = table->get(key);
  std::optional<T> value;
  if constexpr (std::is_floating_point_v<T>) {
    if (auto d = node->value<double>()) value = static_cast<T>(*d);  // integers convert too
  } else {
    if (node->is_integer()) value = static_cast<T>(*node->value<int64_t>());
  }
  if (!value) {
    error(absl::StrCat("'", key_path, "' must be ", std::is_floating_point_v<T> ? "a number" : "an integer"));
    return;
  }
  if (!(*value >= lo && *value <= hi)) {  // written so that NaN fails
    error(absl::StrCat("'", key_path, "' = ", *value, " is outside the allowed range [", lo, ", ", hi, "]"));
    return;
  }
  *out = *value;
  (void)s;
}

}  // namespace

void ConfigSection::Read(std::string_view key, double* out, double lo, double hi) {
  MarkUsed(key);
  ReadNumber(*this, table_, key, KeyPath(key), out, lo, hi,
             [&](std::string_view m) { state_->errors.push_back(absl::StrCat(state_->source, ": ", AsAbsl(m))); });
}

void ConfigSection::Read(std::string_view key, int64_t* out, int64_t lo, int64_t hi) {
  MarkUsed(key);
  ReadNumber(*this, table_, key, KeyPath(key), out, lo, hi,
             [&](std::string_view m) { state_->errors.push_back(absl::StrCat(state_->source, ": ", AsAbsl(m))); });
}

void ConfigSection::Read(std::string_view key, int* out, int lo, int hi) {
  int64_t v = *out;
  Read(key, &v, lo, hi);
  *out = static_cast<int>(v);
}

void ConfigSection::Read(std::string_view key, bool* out) {
  MarkUsed(key);
  if (!Has(key)) return;
  if (auto v = table_->get(key)->value_exact<bool>()) {  // value<bool>() accepts integers
    *out = *v;
  } else {
    state_->errors.push_back(absl::StrCat(state_->source, ": '", KeyPath(key), "' must be true or false"));
  }
}

void ConfigSection::Read(std::string_view key, std::string* out, const std::vector<std::string>& allowed) {
  MarkUsed(key);
  if (!Has(key)) return;
  auto v = table_->get(key)->value<std::string>();
  if (!v) {
    state_->errors.push_back(absl::StrCat(state_->source, ": '", KeyPath(key), "' must be a string"));
    return;
  }
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
    state_->errors.push_back(absl::StrCat(state_->source, ": '", KeyPath(key), "' = \"", *v,
                                          "\" is not one of: ", absl::StrJoin(allowed, ", ")));
    return;
  }
  *out = *v;
}

void ConfigSection::Read(std::string_view key, std::vector<double>* out) {
  MarkUsed(key);
  if (!Has(key)) return;
  const toml::array* array = table_->get(key)->as_array();
  std::vector<double> values;
  bool ok = array != nullptr;
  if (ok) {
    for (const toml::node& n : *array) {
      auto d = n.value<double>();
      if (!d) {
        ok = false;
        break;
      }
      values.push_back(*d);
    }
  }
  if (!ok) {
    state_->errors.push_back(absl::StrCat(state_->source, ": '", KeyPath(key), "' must be an array of numbers"));
    return;
  }
  *out = std::move(values);
}

ConfigSection ConfigSection::Section(std::string_view key) {
  MarkUsed(key);
  toml::table* sub = nullptr;
  if (Has(key)) {
    sub = table_->get(key)->as_table();
    if (sub == nullptr) {
      state_->errors.push_back(absl::StrCat(state_->source, ": '", KeyPath(key), "' must be a table"));
    }
  }
  state_->sections.push_back({sub, KeyPath(key), {}});
  return ConfigSection(state_, sub, KeyPath(key), state_->sections.size() - 1);
}

std::vector<ConfigSection> ConfigSection::Sections(std::string_view key) {
  MarkUsed(key);
  std::vector<ConfigSection> result;
  if (!Has(key)) return result;
  toml::array* array = table_->get(key)->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    state_->errors.push_back(absl::StrCat(state_->source, ": '", KeyPath(key), "' must be an array of tables [[",
                                          KeyPath(key), "]]"));
    return result;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    std::string path = absl::StrCat(KeyPath(key), "[", i, "]");
    state_->sections.push_back({array->get(i)->as_table(), path, {}});
    result.push_back(ConfigSection(state_, array->get(i)->as_table(), path, state_->sections.size() - 1));
  }
  return result;
}

std::string ConfigPathFromArgs(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) return argv[i + 1];
    if (arg.starts_with("--config=")) return std::string(arg.substr(9));
  }
  return "";
}

ConfigFile::ConfigFile() : state_(std::make_unique<internal::ConfigState>()) {}
ConfigFile::ConfigFile(ConfigFile&&) noexcept = default;
ConfigFile& ConfigFile::operator=(ConfigFile&&) noexcept = default;
ConfigFile::~ConfigFile() = default;

absl::StatusOr<ConfigFile> ConfigFile::Load(const std::string& path) {
  FEDGE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(text, path);
}

absl::StatusOr<ConfigFile> ConfigFile::Parse(std::string_view text, std::string_view source) {
  FEDGE_RETURN_IF_ERROR(CheckConfigText(text, source));  // before toml++ sees it: see core/toml_guard.h
  ConfigFile file;
  file.state_->source = std::string(source);
  try {
    file.state_->document = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(source), ":", e.source().begin.line, ":", e.source().begin.column,
                                                   ": TOML syntax error: ", AsAbsl(e.description())));
  }
  return file;
}

ConfigSection ConfigFile::root() {
  state_->sections.push_back({&state_->document, "", {}});
  return ConfigSection(state_.get(), &state_->document, "", state_->sections.size() - 1);
}

absl::Status ConfigFile::Finish() const {
  std::vector<std::string> problems = state_->errors;
  // A table may be visited through several views; a key counts as known if
  // any view of that table read it.
  absl::flat_hash_map<const toml::table*, absl::flat_hash_set<std::string>> used;
  for (const auto& s : state_->sections) {
    if (s.table != nullptr) used[s.table].insert(s.used.begin(), s.used.end());
  }
  absl::flat_hash_set<const toml::table*> reported;
  for (const auto& s : state_->sections) {
    if (s.table == nullptr || !reported.insert(s.table).second) continue;
    for (const auto& [key, node] : *s.table) {
      if (!used[s.table].contains(AsAbsl(key.str()))) {
        problems.push_back(absl::StrCat(state_->source, ": unknown key '",
                                        s.path.empty() ? std::string(key.str()) : absl::StrCat(s.path, ".", AsAbsl(key.str())),
                                        "' (misspelt, or not supported here)"));
      }
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
}

}  // namespace fedge
