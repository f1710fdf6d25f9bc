// fedgectl: the operator's command line over a running fedge-coordinator's
// Admin gRPC service (mutual TLS with the admin certificate). ctl/README.md
// documents the subcommands, their --json output and the exit codes.
#include <iostream>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/time/clock.h"
#include "ctl/admin_client.h"
#include "ctl/commands.h"
#include "ctl/enrol_commands.h"
#include "ctl/exit_codes.h"
#include "ctl/rollout_command.h"

namespace fedge::ctl {
namespace {

constexpr char kExamples[] = R"(Examples:
  export FEDGECTL_COORDINATOR=coordinator-host:50051 FEDGECTL_ROOT_CERT=/etc/fedge/ca.pem \
         FEDGECTL_TLS_CERT=ops/cert.pem FEDGECTL_TLS_KEY=ops/key.pem
  fedgectl status
  fedgectl devices --status offline
  fedgectl devices --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'
  fedgectl device dev-17
  fedgectl rounds --last 20
  fedgectl models
  fedgectl backup /var/backups/fedge-$(date +%F)   # a path on the coordinator's host
  fedgectl token create --count 2 --expires 24h    # one-time tokens for fedge-device enroll
  fedgectl devices --status pending
  fedgectl device approve dev-18
  fedgectl device revoke dev-17                    # refused from its next call; listed in the CRL
  fedgectl rollout status
  fedgectl rollout pause        # hold the current stage; resume continues
  fedgectl rollout promote      # next stage now, without waiting for soak and health
  fedgectl rollout rollback     # every device returns to the previous deployed model

)";

struct Flags {
  AdminClientOptions client;
  double timeout_s = 10;
  bool json = false;
  std::string status;
  uint32_t page_size = 0;
  int64_t limit = 0;
  std::string device_id;
  uint32_t last = 10;
  std::string backup_path;
  uint32_t token_count = 1;
  std::string token_expires = "24h";
  std::string rollout_action;
};

int Main(int argc, char** argv) {
  CLI::App app{"fedgectl: inspect a running fedge-coordinator through its Admin service (mutual TLS, admin "
               "certificate)",
               "fedgectl"};
  app.footer(std::string(kExamples) + ExitCodesHelp());
  app.require_subcommand(1);
  Flags f;
  app.add_option("--coordinator", f.client.target, "host:port of the coordinator")
      ->envname("FEDGECTL_COORDINATOR")
      ->capture_default_str();
  app.add_option("--root-cert", f.client.root_cert_path,
                 "PEM that verifies the coordinator's TLS certificate (its CA or dev cert.pem)")
      ->envname("FEDGECTL_ROOT_CERT");
  app.add_option("--tls-cert", f.client.cert_path, "the admin client certificate (CN = the coordinator's --admin-cn)")
      ->envname("FEDGECTL_TLS_CERT");
  app.add_option("--tls-key", f.client.key_path, "its private key")->envname("FEDGECTL_TLS_KEY");
  app.add_option("--server-name", f.client.server_name_override,
                 "name expected in the coordinator's certificate when it is not the --coordinator host");
  app.add_option("--timeout-s", f.timeout_s, "deadline of each call in seconds")->capture_default_str();
  app.add_flag("--json", f.json, "one JSON document on stdout instead of a table (for scripts)");

  CLI::App* status = app.add_subcommand("status", "round, model versions, devices by status, the last round");
  status->fallthrough();
  CLI::App* devices = app.add_subcommand("devices", "the fleet registry, one device per line (paged from the server)");
  devices->fallthrough();
  devices->add_option("--status", f.status, "only devices in this status: pending, active, offline, revoked");
  devices->add_option("--limit", f.limit, "show at most this many devices (0: all)")->capture_default_str();
  devices->add_option("--page-size", f.page_size, "devices per call (0: the coordinator's default, 100; max 1000)");
  CLI::App* device = app.add_subcommand("device", "one device's registry entry; or approve|revoke ID");
  device->fallthrough();
  device->add_option("ID", f.device_id, "device id");
  CLI::App* approve = device->add_subcommand("approve", "issue a pending device's certificate (enrolment)");
  approve->fallthrough();
  approve->add_option("ID", f.device_id, "device id")->required();
  CLI::App* revoke = device->add_subcommand(
      "revoke", "refuse the device from its next call and list its certificate in the CRL");
  revoke->fallthrough();
  revoke->add_option("ID", f.device_id, "device id")->required();
  CLI::App* token = app.add_subcommand("token", "enrolment tokens: token create");
  token->require_subcommand(1);
  token->fallthrough();
  CLI::App* token_create = token->add_subcommand("create", "one-time bootstrap tokens, printed once");
  token_create->fallthrough();
  token_create->add_option("--count", f.token_count, "how many (1-100)")->capture_default_str();
  token_create->add_option("--expires", f.token_expires, "lifetime, e.g. 24h, 30m (1s to 720h)")
      ->capture_default_str();
  CLI::App* rounds = app.add_subcommand("rounds", "the last completed rounds");
  rounds->fallthrough();
  rounds->add_option("--last", f.last, "how many (at most 1000)")->capture_default_str()->check(CLI::Range(1, 1000));
  CLI::App* models = app.add_subcommand("models", "served global and deployed model versions, and older ones in use");
  models->fallthrough();
  CLI::App* backup = app.add_subcommand(
      "backup", "online backup of the coordinator's --state directory into PATH on the coordinator's host");
  backup->fallthrough();
  backup->add_option("PATH", f.backup_path, "absolute path of a new directory on the coordinator's host")->required();

  CLI::App* rollout = app.add_subcommand(
      "rollout", "staged rollout of the deployed model: status, or pause|resume|promote|rollback (admin certificate)");
  rollout->fallthrough();
  rollout->add_option("ACTION", f.rollout_action, "status, pause, resume, promote or rollback")
      ->required()
      ->check(CLI::IsMember({"status", "pause", "resume", "promote", "rollback"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  auto fail = [](const absl::Status& s) {
    std::cerr << "fedgectl: " << s.message() << "\n";
    return ExitCodeFor(s);
  };
  f.client.timeout = absl::Seconds(f.timeout_s);
  absl::StatusOr<std::unique_ptr<AdminClient>> client = AdminClient::Create(f.client);
  if (!client.ok()) return fail(client.status());
  const OutputOptions output{.json = f.json, .now = absl::Now()};
  absl::Status done;
  if (*status) {
    done = ShowStatus(**client, output, std::cout);
  } else if (*devices) {
    DevicesQuery query{.status = std::nullopt, .page_size = f.page_size, .limit = f.limit};
    if (!f.status.empty()) {
      absl::StatusOr<proto::DeviceStatus> parsed = ParseStatusName(f.status);
      if (!parsed.ok()) return fail(parsed.status());
      query.status = *parsed;
    }
    done = ShowDevices(**client, query, output, std::cout);
  } else if (*approve) {
    done = ApproveDevice(**client, f.device_id, output, std::cout);
  } else if (*revoke) {
    done = RevokeDevice(**client, f.device_id, output, std::cout);
  } else if (*device) {
    if (f.device_id.empty()) return fail(absl::InvalidArgumentError("device: give an ID, or approve|revoke ID"));
    done = ShowDevice(**client, f.device_id, output, std::cout);
  } else if (*token_create) {
    absl::StatusOr<int64_t> ttl = ParseExpiry(f.token_expires);
    if (!ttl.ok()) return fail(ttl.status());
    done = CreateTokens(**client, f.token_count, *ttl, output, std::cout);
  } else if (*rounds) {
    done = ShowRounds(**client, f.last, output, std::cout);
  } else if (*models) {
    done = ShowModels(**client, output, std::cout);
  } else if (*backup) {
    done = RunBackup(**client, f.backup_path, output, std::cout);
  } else if (*rollout) {
    done = RunRollout(**client, f.rollout_action, output, std::cout);
  }
  std::cout.flush();
  return done.ok() ? kExitOk : fail(done);
}

}  // namespace
}  // namespace fedge::ctl

int main(int argc, char** argv) { return fedge::ctl::Main(argc, argv); }
