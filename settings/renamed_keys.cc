#include "settings/renamed_keys.h"

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace fedge {

const std::vector<RenamedKey>& RenamedKeys() {
  static const auto* const kKeys = new std::vector<RenamedKey>{
      // fedge-sim scenarios before the shared schema.
      {"rounds", "federation.rounds"},
      {"model", "[model] name (model is now a table)"},
      {"codec", "training.codec"},
      {"selection", "[federation] (same keys)"},
      {"training.lr", "training.learning_rate"},
      {"run.evaluate_every", "federation.evaluate_every"},
      {"deploy.lr", "deploy.learning_rate"},
      {"drift.favour_drifting", "federation.favour_drifting"},
      {"drift.extra_round_drift_fraction", "federation.extra_round_drift_fraction"},
      {"drift.max_extra_rounds", "federation.max_extra_rounds"},
      // fedge-coordinator before the shared schema.
      {"train", "[training] (dp_noise_multiplier and dp_clip_norm are now dp.noise_multiplier and dp.clip_norm)"},
      {"training.dp_noise_multiplier", "dp.noise_multiplier"},
      {"training.dp_clip_norm", "dp.clip_norm"},
      {"model.seed", "the top-level seed (it derives the initial weights and the selection)"},
      {"model.model_id", "the top-level name"},
      {"federation.seed", "the top-level seed (it derives the initial weights and the selection)"},
      // fedge-device before the shared schema.
      {"training.architecture", "model.name"},
      {"training.torch_threads", "run.torch_threads"},
      {"privacy", "[dp] (epsilon is now dp.device_epsilon; delta and ledger keep their names)"},
  };
  return *kKeys;
}

void RefuseRenamedKeys(ConfigSection root) {
  for (const RenamedKey& renamed : RenamedKeys()) {
    const size_t dot = renamed.old_key.find('.');
    if (dot == std::string_view::npos) {
      // "model" was a string and is now a table: only the old form is refused.
      const bool old_form = renamed.old_key == "model" ? root.HasValue("model") : root.Has(renamed.old_key);
      if (!old_form) continue;
      root.Error(absl::StrCat("'", AsAbsl(renamed.old_key), "' was renamed: use ", AsAbsl(renamed.replacement)));
      root.Ignore(renamed.old_key);
      continue;
    }
    const std::string_view table = renamed.old_key.substr(0, dot), key = renamed.old_key.substr(dot + 1);
    if (!root.HasNested(table, key)) continue;
    ConfigSection section = root.Section(table);
    section.Error(absl::StrCat("'", AsAbsl(key), "' was renamed: use ", AsAbsl(renamed.replacement)));
    section.Ignore(key);
  }
}

}  // namespace fedge
