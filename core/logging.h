// File: core/logging.h
//
// Minimal leveled logging to stderr: `FEDGE_LOG(INFO) << "round " << r;`.
// One line per statement, prefixed with level, UTC time and source location;
// lines from different threads never interleave. FATAL aborts after logging.
// The minimum level is process-wide (`SetMinLogLevel`), set by main().
#ifndef FEDGE_CORE_LOGGING_H_
#define FEDGE_CORE_LOGGING_H_

#include <sstream>
#include <string_view>

namespace fedge {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kFatal = 4 };

void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();
// "debug", "warning" or "error"; anything else is kInfo (the binaries'
// --log-level flags check the name).
LogLevel ParseLogLevel(std::string_view name);

namespace internal {

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Swallows the stream expression when the level is disabled.
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace internal
}  // namespace fedge

#define FEDGE_LOG_LEVEL_DEBUG ::fedge::LogLevel::kDebug
#define FEDGE_LOG_LEVEL_INFO ::fedge::LogLevel::kInfo
#define FEDGE_LOG_LEVEL_WARNING ::fedge::LogLevel::kWarning
#define FEDGE_LOG_LEVEL_ERROR ::fedge::LogLevel::kError
#define FEDGE_LOG_LEVEL_FATAL ::fedge::LogLevel::kFatal

#define FEDGE_LOG(level)                                                  \
  (FEDGE_LOG_LEVEL_##level < ::fedge::MinLogLevel())                      \
      ? (void)0                                                           \
      : ::fedge::internal::LogVoidify() &                                 \
            ::fedge::internal::LogMessage(FEDGE_LOG_LEVEL_##level, __FILE__, __LINE__).stream()

#endif  // FEDGE_CORE_LOGGING_H_
