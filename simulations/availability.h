// File: simulations/availability.h
//
// Diurnal availability of simulated devices ([devices] diurnal_period_s,
// diurnal_on_fraction): each device is online for `on_fraction` of every
// `period`, in one window per period that starts at its own phase (drawn
// once per device from the scenario seed, uniform in [0, period)), the way
// phones train only while charging at night in their own time zone. A
// period of 0 means always online.
//
// Both run modes honour it: a synchronous round's sampled device that is
// offline when the round opens never takes its task, and one whose window
// closes before its update arrives sends it when its next window opens
// (too late for the round); an asynchronous device trains only while online
// and, likewise, delivers when it is next online (simulations/README.md).
//
// LibTorch-free. Immutable values; thread-safe.
#ifndef FEDGE_SIMULATIONS_AVAILABILITY_H_
#define FEDGE_SIMULATIONS_AVAILABILITY_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace fedge {

class DiurnalWindow {
 public:
  // Always online.
  DiurnalWindow() = default;
  // REQUIRES: period >= 0, on_fraction in (0, 1], phase in [0, period).
  DiurnalWindow(absl::Duration period, double on_fraction, absl::Duration phase)
      : period_(period), on_(period * on_fraction), phase_(phase) {}
  // The device's window with its phase drawn from (seed, device_id).
  static DiurnalWindow ForDevice(double period_s, double on_fraction, uint64_t seed, const std::string& device_id);

  // Times are offsets from the simulation's start.
  bool OnlineAt(absl::Duration t) const;
  // `t` when online at `t`, else the start of the next window.
  absl::Duration NextOnline(absl::Duration t) const;
  // The end of the window `t` falls in. REQUIRES: OnlineAt(t). Infinite
  // when always online.
  absl::Duration OnlineUntil(absl::Duration t) const;
  // When work needing `busy` of online time, started at `start`, ends: it
  // runs only while the device is online and pauses between its windows.
  absl::Duration Finish(absl::Duration start, absl::Duration busy) const;
  bool always_online() const { return period_ <= absl::ZeroDuration() || on_ >= period_; }

 private:
  // Position of `t` within its period, counted from the window's start.
  absl::Duration Offset(absl::Duration t) const;
  absl::Duration period_ = absl::ZeroDuration();
  absl::Duration on_ = absl::ZeroDuration();
  absl::Duration phase_ = absl::ZeroDuration();
};

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_AVAILABILITY_H_
