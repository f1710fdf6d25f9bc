// File: tests/sim/test_registrations.h
//
// A strategy, a value codec stage and a drift detector that exist only in
// tests (test_registrations.cc). Each registers itself with its module's
// registry from that one file — no other file names them — so a test that
// runs them in the simulator proves the registry path end to end. The
// counters say how often the simulator went through each.
//
// Thread-safety: the counters are atomics; the plugins are used from the
// simulator's worker threads.
#ifndef FEDGE_TESTS_SIM_TEST_REGISTRATIONS_H_
#define FEDGE_TESTS_SIM_TEST_REGISTRATIONS_H_

#include <atomic>
#include <cstdint>

namespace fedge::testing {

// "test_halving_mean": the weighted mean of the round's updates, applied
// with half the configured server_learning_rate
// ([strategy.test_halving_mean] server_learning_rate, default 1.0).
inline constexpr char kTestStrategy[] = "test_halving_mean";
// Rounds the strategy applied.
std::atomic<int64_t>& TestStrategyApplies();

// "test_counted_fp32": fp32 values, counted (codec spec "test_counted_fp32").
inline constexpr char kTestValueStage[] = "test_counted_fp32";
// Updates encoded and parsed through the stage.
std::atomic<int64_t>& TestStageEncodes();
std::atomic<int64_t>& TestStageParses();

// "test_always": signals drift on every value once `after` values
// ([drift.detector.test_always] after, default 50) have been seen.
inline constexpr char kTestDetector[] = "test_always";
// Values the detector consumed.
std::atomic<int64_t>& TestDetectorUpdates();

}  // namespace fedge::testing

#endif  // FEDGE_TESTS_SIM_TEST_REGISTRATIONS_H_
