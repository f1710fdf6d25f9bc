// File: core/env.h
//
// The environment fedge code runs in, injected rather than reached for:
// `Clock` (time and sleeping) and `Executor` (where background work runs).
// Production code takes them from options with defaults
// (`Clock::Real()`, a `ThreadPool`); tests substitute `FakeClock` and
// `InlineExecutor` so timeouts are exercised without sleeping.
#ifndef FEDGE_CORE_ENV_H_
#define FEDGE_CORE_ENV_H_

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fedge {

// Thread-safety: implementations are safe for concurrent use.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  virtual void SleepFor(absl::Duration d) = 0;

  // The process-wide wall clock. Never deleted.
  static Clock* Real();
};

// A clock that only moves when told to. SleepFor advances it instantly, so
// code that backs off or waits on deadlines runs at full speed in tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::UnixEpoch() + absl::Hours(24 * 365 * 50)) : now_(start) {}
  absl::Time Now() const override;
  void SleepFor(absl::Duration d) override { Advance(d); }
  void Advance(absl::Duration d);
  void SetTime(absl::Time t);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

// Runs closures. Thread-safety: Schedule may be called from any thread.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Schedule(std::function<void()> fn) = 0;
};

// Runs each closure immediately on the calling thread.
class InlineExecutor final : public Executor {
 public:
  void Schedule(std::function<void()> fn) override { fn(); }
};

// A fixed pool of worker threads. The destructor waits for queued work.
class ThreadPool final : public Executor {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Schedule(std::function<void()> fn) override;
  // Blocks until every scheduled closure has finished.
  void Wait();
  int num_threads() const { return static_cast<int>(threads_.size()); }

 private:
  void WorkLoop();

  absl::Mutex mu_;
  std::vector<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  size_t head_ ABSL_GUARDED_BY(mu_) = 0;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace fedge

#endif  // FEDGE_CORE_ENV_H_
