// The simulator's asynchronous mode ([federation] mode = "async") and the
// diurnal availability windows it and the synchronous rounds share.

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "simulations/simulator_impl.h"

namespace fedge {

void Simulator::Impl::HoldForAvailability(size_t index, absl::Time started, DeviceRun& run) const {
  if (windows.empty() || !run.arrival) return;
  const absl::Time held = start + windows[index].Finish(started - start, *run.arrival - started);
  if (held <= *run.arrival) return;
  // The device's clock moves on by the time it spent offline, so its link
  // charges the upload from there and it arrives when held.
  run.clock->Advance(held - *run.arrival);
  run.arrival = held;
}

std::optional<absl::Time> Simulator::Impl::NextDeviceOnline() const {
  std::optional<absl::Time> next;
  const absl::Time now = clock.Now();
  const uint64_t version = federation->model_version();
  for (size_t i = 0; i < setup.population.size() && !windows.empty(); ++i) {
    if (training[i] || idle_at_version[i] == version || ShardSize(i) == 0) continue;
    absl::Time t = start + windows[i].NextOnline(now - start);
    if (t <= now) t = start + windows[i].NextOnline(windows[i].OnlineUntil(now - start));
    if (!next || t < *next) next = t;
  }
  return next;
}

absl::Status Simulator::Impl::LaunchIdleDevices() {
  const absl::Time now = clock.Now();
  const uint64_t version = federation->model_version();
  const int64_t limit = scenario.async.max_concurrent > 0 ? scenario.async.max_concurrent
                                                          : static_cast<int64_t>(setup.population.size());
  std::vector<InFlight*> started;
  for (size_t i = 0; i < setup.population.size() && static_cast<int64_t>(in_flight.size()) < limit; ++i) {
    if (training[i] || idle_at_version[i] == version || ShardSize(i) == 0 || !OnlineAt(i, now)) continue;
    auto flight = std::make_unique<InFlight>();
    flight->index = i;
    flight->profile = Materialise(i);
    flight->run = std::make_unique<DeviceRun>();
    training[i] = true;
    started.push_back(flight.get());
    in_flight.push_back(std::move(flight));
  }
  // Every device starts on the same global version: train them in parallel.
  for (InFlight* f : started) {
    const RoundFate fate = DrawFate(scenario, ++launches, f->profile.id);
    if (!fate.online) {
      f->run->status = absl::UnavailableError("declined its task (availability draw)");
      f->run->simulated_failure = true;
      continue;
    }
    pool.Schedule([this, f, fate, now] { PrepareDevice(f->profile, fate, now, absl::InfiniteFuture(), *f->run); });
  }
  pool.Wait();
  for (InFlight* f : started) HoldForAvailability(f->index, now, *f->run);
  // Those without an update on its way (no task, dropout, failure) are idle
  // again until the next server step.
  for (auto it = in_flight.begin(); it != in_flight.end();) {
    InFlight& f = **it;
    if (f.run->arrival) {
      ++it;
      continue;
    }
    if (f.run->prepared || f.run->privacy) FinishDevice(*f.run);
    const absl::Status status = f.run->status;
    const bool no_task = f.run->prepared && !f.run->step.had_task;
    if (!status.ok() && !no_task && !f.run->simulated_failure && !any_round_succeeded) {
      return absl::InternalError(absl::StrCat(f.profile.id, " could not train: ", status.ToString()));
    }
    training[f.index] = false;
    idle_at_version[f.index] = version;
    it = in_flight.erase(it);
  }
  return absl::OkStatus();
}

absl::StatusOr<RoundRow> Simulator::Impl::RunAsyncStep() {
  const absl::Time wall_start = Clock::Real()->Now();
  int64_t malicious_accepted = 0;
  while (true) {
    FEDGE_RETURN_IF_ERROR(LaunchIdleDevices());
    // The next event: the earliest arrival (ties by device id), unless an
    // idle device comes online before it and starts training first.
    auto first = std::min_element(in_flight.begin(), in_flight.end(), [](const auto& a, const auto& b) {
      return std::tie(*a->run->arrival, a->profile.id) < std::tie(*b->run->arrival, b->profile.id);
    });
    const int64_t limit = scenario.async.max_concurrent;
    const bool room = limit == 0 || static_cast<int64_t>(in_flight.size()) < limit;
    const std::optional<absl::Time> online = room ? NextDeviceOnline() : std::nullopt;
    if (first == in_flight.end() || (online && *online < *(*first)->run->arrival)) {
      if (!online) {
        return absl::InternalError(absl::StrCat("async step ", federation->GetStatus().current_round(),
                                                ": no device is training or can start (every device is idle on "
                                                "this version or has no data)"));
      }
      clock.SetTime(*online);
      continue;
    }
    std::unique_ptr<InFlight> arriving = std::move(*first);
    in_flight.erase(first);
    training[arriving->index] = false;
    FinishDevice(*arriving->run);  // its link moves the coordinator's clock to the arrival
    clock.SetTime(std::max(clock.Now(), *arriving->run->arrival));
    if (arriving->run->status.ok() && setup.malicious[arriving->index]) ++malicious_accepted;
    std::vector<proto::RoundRecord> records = federation->Tick();
    if (records.empty()) continue;
    FEDGE_ASSIGN_OR_RETURN(RoundRow row, MakeRow(records.front(), malicious_accepted));
    row.wall_time_s = absl::ToDoubleSeconds(Clock::Real()->Now() - wall_start);
    return row;
  }
}

}  // namespace fedge
