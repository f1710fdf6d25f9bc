#include "simulations/availability.h"

#include <functional>
#include <random>

#include "core/random.h"

namespace fedge {
namespace {

constexpr uint64_t kPhaseStream = 0x646975726e616cULL;  // "diurnal"

}  // namespace

DiurnalWindow DiurnalWindow::ForDevice(double period_s, double on_fraction, uint64_t seed,
                                       const std::string& device_id) {
  if (period_s <= 0 || on_fraction >= 1) return DiurnalWindow();
  SeededRandom rng(DeriveSeed(DeriveSeed(seed, kPhaseStream), std::hash<std::string>()(device_id)));
  std::uniform_real_distribution<double> u(0, 1);
  return DiurnalWindow(absl::Seconds(period_s), on_fraction, absl::Seconds(period_s * u(rng)));
}

absl::Duration DiurnalWindow::Offset(absl::Duration t) const {
  absl::Duration offset = absl::FDivDuration(t - phase_, period_) >= 0
                              ? (t - phase_) % period_
                              : period_ - ((phase_ - t) % period_);
  if (offset >= period_) offset -= period_;
  return offset;
}

bool DiurnalWindow::OnlineAt(absl::Duration t) const { return always_online() || Offset(t) < on_; }

absl::Duration DiurnalWindow::NextOnline(absl::Duration t) const {
  if (OnlineAt(t)) return t;
  return t + (period_ - Offset(t));
}

absl::Duration DiurnalWindow::Finish(absl::Duration start, absl::Duration busy) const {
  const absl::Duration t = NextOnline(start);
  if (always_online() || busy <= absl::ZeroDuration()) return t + busy;
  // The rest of the current window, then whole windows, then a part of one
  // (computed, not walked: a long task spans many periods).
  const absl::Duration first = OnlineUntil(t) - t;
  if (busy <= first) return t + busy;
  busy -= first;
  const absl::Duration next = t + first + (period_ - on_);  // the next window's start
  const int64_t full = absl::IDivDuration(busy, on_, &busy);
  if (busy == absl::ZeroDuration()) return next + (full - 1) * period_ + on_;
  return next + full * period_ + busy;
}

absl::Duration DiurnalWindow::OnlineUntil(absl::Duration t) const {
  if (always_online()) return absl::InfiniteDuration();
  return t + (on_ - Offset(t));
}

}  // namespace fedge
