// File: settings/renamed_keys.h
//
// Keys of the configuration schemas that preceded the shared one
// (settings/federation_settings.h), each with the key that replaced it. A
// file that still uses one is refused with a message naming the new key,
// instead of an "unknown key" that leaves the user to guess. Every binary
// runs this check before reading, so the messages are the same everywhere.
//
// LibTorch-free. Stateless; thread-safe.
#ifndef FEDGE_SETTINGS_RENAMED_KEYS_H_
#define FEDGE_SETTINGS_RENAMED_KEYS_H_

#include <string_view>
#include <vector>

#include "core/config.h"

namespace fedge {

struct RenamedKey {
  // Dotted path in the old schema: "rounds" (a top-level value), "selection"
  // (a whole table) or "training.lr" (a key of a table).
  std::string_view old_key;
  // What to write instead, as shown to the user.
  std::string_view replacement;
};

// Every renamed key, for documentation and tests.
const std::vector<RenamedKey>& RenamedKeys();

// Records an error on `root` for each old key present, naming its
// replacement, and marks it as read so it is not also reported unknown.
void RefuseRenamedKeys(ConfigSection root);

}  // namespace fedge

#endif  // FEDGE_SETTINGS_RENAMED_KEYS_H_
