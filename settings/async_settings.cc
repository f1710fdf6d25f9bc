#include "settings/async_settings.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace fedge {

void ReadAsyncTable(ConfigSection t, bool async_mode, AsyncSettings* a) {
  t.Read("buffer_size", &a->buffer_size, 1, 1'000'000);
  t.Read("staleness_exponent", &a->staleness_exponent, 0, 100);
  t.Read("max_staleness", &a->max_staleness, 0, 1'000'000);
  t.Read("max_concurrent", &a->max_concurrent, 0, std::numeric_limits<int64_t>::max());
  if (async_mode && a->max_concurrent > 0 && a->max_concurrent < a->buffer_size) {
    t.Error(absl::StrCat("'max_concurrent' = ", a->max_concurrent, " is below 'buffer_size' = ", a->buffer_size,
                         ": the buffer could never fill"));
  }
}

nlohmann::json AsyncSettingsToJson(const AsyncSettings& a) {
  return {{"buffer_size", a.buffer_size},
          {"staleness_exponent", a.staleness_exponent},
          {"max_staleness", a.max_staleness},
          {"max_concurrent", a.max_concurrent}};
}

}  // namespace fedge
