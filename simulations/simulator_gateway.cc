// The two-tier topology of fedge-sim ([gateway] sites > 0;
// simulations/README.md, "Gateways"): the population is split among
// `sites` gateways (gateway/gateway.h), the same class fedge-gateway serves.
// The Federation sees the gateways as its devices and samples them; the
// devices of a selected site train and upload to their gateway over their
// own simulated links, and each gateway forwards one combined update.
// The gateway-to-coordinator link is not simulated: it is a site's uplink,
// not a device's, and carries one update per round.
#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "simulations/simulator_impl.h"

namespace fedge {

absl::Status Simulator::Impl::SetUpGateways() {
  const size_t sites = static_cast<size_t>(scenario.gateway.sites);
  const size_t n = setup.population.size();
  site_members.assign(sites, {});
  for (size_t i = 0; i < n; ++i) site_members[i * sites / n].push_back(i);
  for (size_t g = 0; g < sites; ++g) {
    const std::string id = absl::StrCat("gateway-", g);
    GatewayOptions options = GatewayOptionsFrom(scenario.gateway, id);
    // Every device of the site is registered before the first round.
    options.min_devices = static_cast<int64_t>(site_members[g].size());
    options.site_quorum = std::min(options.site_quorum, options.min_devices);
    options.poll_interval = absl::Milliseconds(scenario.federation.poll_interval_ms);
    options.seed = DeriveSeed(scenario.seed, 0x67617465ULL + static_cast<uint64_t>(g));
    FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Gateway> gateway,
                           Gateway::Create(std::move(options), coordinator, verify_key, &clock));
    gateway_index[id] = gateways.size();
    gateways.push_back(std::move(gateway));
  }
  for (size_t g = 0; g < sites; ++g) {
    for (size_t i : site_members[g]) {
      proto::RegisterRequest request;
      request.mutable_device()->set_device_id(setup.population[i].id);
      request.mutable_device()->set_num_examples(ShardSize(i));
      FEDGE_RETURN_IF_ERROR(gateways[g]->Register(request).status());
    }
  }
  for (const std::unique_ptr<Gateway>& gateway : gateways) FEDGE_RETURN_IF_ERROR(gateway->Join());
  return absl::OkStatus();
}

absl::StatusOr<RoundRow> Simulator::Impl::RunTwoTierRound() {
  const absl::Time wall_start = Clock::Real()->Now();
  const absl::Time opened = clock.Now();
  const uint64_t round = federation->GetStatus().current_round();
  // The selected sites take their task and open their site rounds.
  std::vector<size_t> sites;
  for (const std::string& id : federation->selected_devices()) {
    const size_t g = gateway_index.at(id);
    FEDGE_RETURN_IF_ERROR(gateways[g]->Tick());
    if (gateways[g]->site_round_open()) sites.push_back(g);
  }
  std::sort(sites.begin(), sites.end());
  std::vector<std::pair<size_t, size_t>> members;  // (population index, site)
  for (size_t g : sites) {
    for (size_t i : site_members[g]) members.emplace_back(i, g);
  }
  // Their devices train, as in a direct round, against their gateway.
  std::vector<DeviceProfile> cohort(members.size());  // the links borrow them
  std::vector<std::unique_ptr<DeviceRun>> runs;
  for (size_t k = 0; k < members.size(); ++k) {
    const auto [i, g] = members[k];
    const DeviceProfile& profile = cohort[k] = Materialise(i);
    const RoundFate fate = DrawFate(scenario, round, profile.id);
    if (!fate.online || profile.examples.empty() || !OnlineAt(i, opened)) continue;
    Gateway* gateway = gateways[g].get();
    const absl::Time deadline = gateway->site_deadline().value_or(opened);
    DeviceRun* run = runs.emplace_back(std::make_unique<DeviceRun>()).get();
    pool.Schedule([this, &profile, fate, opened, deadline, run, gateway] {
      PrepareDevice(profile, fate, opened, deadline, *run, gateway);
    });
  }
  pool.Wait();
  // Uploads in simulated arrival order, so every site's aggregate is reproducible.
  std::vector<DeviceRun*> arriving;
  for (const std::unique_ptr<DeviceRun>& run : runs) {
    if (run->arrival) arriving.push_back(run.get());
  }
  std::sort(arriving.begin(), arriving.end(), [](const DeviceRun* a, const DeviceRun* b) {
    return std::tie(*a->arrival, a->id) < std::tie(*b->arrival, b->id);
  });
  int64_t malicious_accepted = 0;
  for (DeviceRun* run : arriving) {
    FinishDevice(*run);
    if (run->status.ok() && setup.malicious[index_of.at(run->id)]) ++malicious_accepted;
  }
  absl::Status unexpected;
  for (const std::unique_ptr<DeviceRun>& run : runs) {
    if (!run->arrival) FinishDevice(*run);
    if (!run->status.ok() && !run->simulated_failure && !absl::IsDeadlineExceeded(run->status) && unexpected.ok()) {
      unexpected = absl::Status(run->status.code(), absl::StrCat(run->id, ": ", run->status.message()));
    }
  }
  if (arriving.empty() && !unexpected.ok() && !any_round_succeeded) {
    return absl::InternalError(
        absl::StrCat("round ", round, ": no device could deliver an update; first error: ", unexpected.ToString()));
  }
  // Each site forwards once all its devices answered, the others at their deadline.
  for (size_t g : sites) FEDGE_RETURN_IF_ERROR(gateways[g]->Tick());
  for (size_t g : sites) {
    if (std::optional<absl::Time> deadline = gateways[g]->site_deadline()) {
      clock.SetTime(std::max(clock.Now(), *deadline));
      FEDGE_RETURN_IF_ERROR(gateways[g]->Tick());
    }
  }
  std::vector<proto::RoundRecord> records = federation->Tick();
  if (records.empty()) {  // a site sent nothing: the round runs to its deadline
    clock.SetTime(std::max(clock.Now(), opened + absl::Seconds(scenario.federation.round_deadline_s)));
    records = federation->Tick();
  }
  if (records.size() != 1) {
    return absl::InternalError(absl::StrCat("round ", round, ": expected one closed round, got ", records.size()));
  }
  FEDGE_ASSIGN_OR_RETURN(RoundRow row, MakeRow(records[0], malicious_accepted));
  row.wall_time_s = absl::ToDoubleSeconds(Clock::Real()->Now() - wall_start);
  return row;
}

}  // namespace fedge
