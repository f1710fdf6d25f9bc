#include "coordinator/store/sqlite_state_store.h"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "coordinator/store/blob_encoding.h"
#include "coordinator/store/model_files.h"
#include "coordinator/store/schema.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string FreshDir(const std::string& name) {
  const std::string dir = (fs::path(::testing::TempDir()) / absl::StrCat("state_store_", name)).string();
  fs::remove_all(dir);
  return dir;
}

std::unique_ptr<SqliteStateStore> OpenOrDie(const std::string& dir, int64_t keep_models = 5) {
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
      SqliteStateStore::Open({.dir = dir, .keep_models = keep_models});
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

StoredModel Model(uint64_t version) {
  return StoredModel{.version = version,
                     .artifact = absl::StrCat("artifact of version ", version),
                     .strategy_state = {{1.5f * version, 2}, {}}};
}

StoredDevice Device(const std::string& id) {
  StoredDevice d;
  d.device_id = id;
  d.info.set_device_id(id);
  d.first_seen_unix_micros = 10;
  d.last_seen_unix_micros = 20;
  d.rounds_joined = 3;
  d.epsilon_spent = 0.5;
  d.inference_version = 2;
  d.drift.set_alarms(4);
  return d;
}

AckedUpdate Update(uint64_t round, const std::string& device, std::string bytes = "update bytes") {
  return AckedUpdate{round, absl::StrCat("r", round, "-", device), device, std::move(bytes)};
}

StoredOpenRound OpenRoundOf(uint64_t round, uint64_t version, std::vector<std::string> selected) {
  StoredOpenRound r;
  r.round = round;
  r.model_version = version;
  r.target = 2;
  r.selected = std::move(selected);
  return r;
}

RoundClosure Closure(uint64_t round, std::optional<StoredModel> model, proto::RoundRecord record, bool evaluate,
                     bool deploy, RunCounters counters = {}) {
  RoundClosure c;
  c.round = round;
  c.model = std::move(model);
  c.pending = PendingRound{std::move(record), evaluate, deploy, {}};
  c.counters = std::move(counters);
  return c;
}

// A run with one closed round, one open round and two acknowledged updates.
void WriteRun(StateStore& store) {
  ASSERT_TRUE(store.StartRun({{"model.name", "cnn_small"}}).ok());
  ASSERT_TRUE(store.SaveInitialModel(Model(1)).ok());
  ASSERT_TRUE(store.SaveDevices({Device("a"), Device("b")}).ok());
  ASSERT_TRUE(store.OpenRound(OpenRoundOf(1, 1, {"a", "b"}), {1, 0, {}}).ok());
  ASSERT_TRUE(store.AppendUpdate(Update(1, "a")).ok());
  proto::RoundRecord record;
  record.set_round(1);
  record.set_accepted(1);
  ASSERT_TRUE(store.CloseRound(Closure(1, Model(2), record, true, false, {1, 0, {}})).ok());
  (*record.mutable_metrics())["test_accuracy"] = 0.75;
  ASSERT_TRUE(store.CompleteRound(record, {1, 0, {{"test_accuracy", 0.75}}}).ok());
  StoredOpenRound open = OpenRoundOf(2, 2, {"b", "a"});
  open.opened_unix_micros = 100;
  open.deadline_unix_micros = 200;
  open.train.set_codec("int8");
  ASSERT_TRUE(store.OpenRound(open, {2, 0, {{"test_accuracy", 0.75}}}).ok());
  ASSERT_TRUE(store.AppendUpdate(Update(2, "b", "first")).ok());
  ASSERT_TRUE(store.AppendUpdate(Update(2, "a", "second")).ok());
  ASSERT_TRUE(store.SaveDeployment({1, 2, "int8 artifact"}).ok());
}

TEST(SqliteStateStoreTest, EverythingSurvivesReopening) {
  const std::string dir = FreshDir("reopen");
  {
    std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
    WriteRun(*store);
  }
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  absl::StatusOr<std::optional<RunConfig>> config = store->ReadRunConfig();
  ASSERT_TRUE(config.ok() && config->has_value());
  EXPECT_EQ((**config).at("model.name"), "cnn_small");
  absl::StatusOr<StoredState> s = store->Load();
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->model.has_value());
  EXPECT_EQ(s->model->version, 2u);
  EXPECT_EQ(s->model->artifact, "artifact of version 2");
  EXPECT_EQ(s->model->strategy_state, (std::vector<std::vector<float>>{{3, 2}, {}}));
  EXPECT_EQ(s->counters.rounds_started, 2u);
  EXPECT_EQ(s->counters.latest_metrics.at("test_accuracy"), 0.75);
  ASSERT_EQ(s->completed.size(), 1u);
  EXPECT_EQ(s->completed[0].metrics().at("test_accuracy"), 0.75);
  EXPECT_TRUE(s->pending.empty());
  ASSERT_EQ(s->devices.size(), 2u);
  EXPECT_EQ(s->devices[1].device_id, "b");
  EXPECT_EQ(s->devices[1].rounds_joined, 3);
  EXPECT_EQ(s->devices[1].inference_version, 2u);
  EXPECT_EQ(s->devices[1].drift.alarms(), 4u);
  ASSERT_TRUE(s->open.has_value());
  EXPECT_EQ(s->open->round, 2u);
  EXPECT_EQ(s->open->deadline_unix_micros, 200);
  EXPECT_EQ(s->open->selected, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(s->open->train.codec(), "int8");
  ASSERT_EQ(s->open_updates.size(), 2u);  // in acknowledgement order
  EXPECT_EQ(s->open_updates[0].bytes, "first");
  EXPECT_EQ(s->open_updates[1].device_id, "a");
  ASSERT_EQ(s->last_closed_updates.size(), 1u);
  EXPECT_EQ(s->last_closed_updates[0].task_id, "r1-a");
  ASSERT_TRUE(s->deployed.has_value());
  EXPECT_EQ(s->deployed->version, 1u);
  EXPECT_EQ(s->deployed->parent_version, 2u);
}

TEST(SqliteStateStoreTest, ProcessDurabilityKeepsWhatWasWritten) {
  const std::string dir = FreshDir("process");
  {
    absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
        SqliteStateStore::Open({.dir = dir, .sync_every_commit = false});
    ASSERT_TRUE(store.ok()) << store.status();
    WriteRun(**store);
  }
  absl::StatusOr<StoredState> s = OpenOrDie(dir)->Load();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->open_updates.size(), 2u);
  EXPECT_EQ(s->model->version, 2u);
}

TEST(SqliteStateStoreTest, PendingRoundIsLoaded) {
  const std::string dir = FreshDir("pending");
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  ASSERT_TRUE(store->StartRun({{"k", "v"}}).ok());
  proto::RoundRecord record;
  record.set_round(1);
  ASSERT_TRUE(store->CloseRound(Closure(1, Model(2), record, true, true)).ok());
  absl::StatusOr<StoredState> s = store->Load();
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->pending.size(), 1u);
  EXPECT_TRUE(s->pending[0].evaluate);
  EXPECT_TRUE(s->pending[0].deploy);
  EXPECT_TRUE(s->completed.empty());
}

// A round can close while the one before it is still being evaluated: both
// stay pending, in order, the older with its own model, and completing the
// older keeps the newer.
TEST(SqliteStateStoreTest, EveryPendingRoundIsLoadedOldestFirst) {
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(FreshDir("two_pending"));
  ASSERT_TRUE(store->StartRun({{"k", "v"}}).ok());
  proto::RoundRecord first, second;
  first.set_round(1);
  first.set_model_version(2);
  second.set_round(2);
  second.set_model_version(3);
  ASSERT_TRUE(store->CloseRound(Closure(1, Model(2), first, true, false)).ok());
  ASSERT_TRUE(store->CloseRound(Closure(2, Model(3), second, false, true)).ok());
  absl::StatusOr<StoredState> s = store->Load();
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->pending.size(), 2u);
  EXPECT_EQ(s->pending[0].record.round(), 1u);
  EXPECT_TRUE(s->pending[0].evaluate);
  EXPECT_EQ(s->pending[0].model_artifact, Model(2).artifact);  // its own model, not the newest
  EXPECT_EQ(s->pending[1].record.round(), 2u);
  EXPECT_TRUE(s->pending[1].deploy);
  EXPECT_TRUE(s->pending[1].model_artifact.empty());  // the newest: StoredState::model

  ASSERT_TRUE(store->CompleteRound(first, {}).ok());
  s = store->Load();
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->completed.size(), 1u);
  ASSERT_EQ(s->pending.size(), 1u);
  EXPECT_EQ(s->pending[0].record.round(), 2u);
}

TEST(SqliteStateStoreTest, AcknowledgingTheSameTaskTwiceIsRefused) {
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(FreshDir("twice"));
  ASSERT_TRUE(store->AppendUpdate(Update(1, "a")).ok());
  EXPECT_FALSE(store->AppendUpdate(Update(1, "a")).ok());
}

TEST(SqliteStateStoreTest, SecondProcessOnTheSameDirectoryIsRefused) {
  const std::string dir = FreshDir("locked");
  std::unique_ptr<SqliteStateStore> first = OpenOrDie(dir);
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> second = SqliteStateStore::Open({.dir = dir});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("in use by another fedge-coordinator"));
}

TEST(SqliteStateStoreTest, StartRunForgetsTheOldRun) {
  const std::string dir = FreshDir("new_run");
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  WriteRun(*store);
  ASSERT_TRUE(store->StartRun({{"model.name", "mlp"}}).ok());
  absl::StatusOr<StoredState> s = store->Load();
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->model.has_value());
  EXPECT_TRUE(s->devices.empty());
  EXPECT_FALSE(s->open.has_value());
  EXPECT_TRUE(fs::is_empty(store->models_dir()));
  EXPECT_EQ((*store->ReadRunConfig())->at("model.name"), "mlp");
}

TEST(SqliteStateStoreTest, OldModelVersionsArePruned) {
  const std::string dir = FreshDir("prune");
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir, /*keep_models=*/2);
  ASSERT_TRUE(store->SaveInitialModel(Model(1)).ok());
  for (uint64_t r = 1; r <= 4; ++r) {
    proto::RoundRecord record;
    record.set_round(r);
    ASSERT_TRUE(store->CloseRound(Closure(r, Model(r + 1), record, false, false)).ok());
  }
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(store->models_dir())) ++files;
  EXPECT_EQ(files, 2);
  absl::StatusOr<StoredState> s = store->Load();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->model->version, 5u);
}

TEST(SqliteStateStoreTest, FullDatabaseIsResourceExhaustedAndChangesNothing) {
  const std::string dir = FreshDir("full");
  {
    std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
    ASSERT_TRUE(store->AppendUpdate(Update(1, "small")).ok());
  }
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store = SqliteStateStore::Open({.dir = dir, .max_pages = 16});
  ASSERT_TRUE(store.ok()) << store.status();
  const absl::Status full = (*store)->AppendUpdate(Update(1, "big", std::string(1 << 20, 'x')));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_THAT(full.message(), HasSubstr("full"));
  absl::StatusOr<StoredState> s = (*store)->Load();
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->last_closed_updates.size(), 1u);  // only the one that fitted
}

TEST(SqliteStateStoreTest, GarbageDatabaseNamesTheFile) {
  const std::string dir = FreshDir("garbage");
  fs::create_directories(dir);
  std::ofstream(fs::path(dir) / "state.db") << std::string(8192, 'g');
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store = SqliteStateStore::Open({.dir = dir});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr((fs::path(dir) / "state.db").string()));
  EXPECT_THAT(store.status().message(), HasSubstr("--backup"));
}

TEST(SqliteStateStoreTest, TruncatedDatabaseIsRefused) {
  const std::string dir = FreshDir("truncated");
  {
    std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
    std::vector<StoredDevice> devices;
    for (int i = 0; i < 2000; ++i) devices.push_back(Device(absl::StrCat("device-", i)));
    ASSERT_TRUE(store->SaveDevices(devices).ok());
  }
  const fs::path db = fs::path(dir) / "state.db";
  ASSERT_FALSE(fs::exists(fs::path(dir) / "state.db-wal") && fs::file_size(fs::path(dir) / "state.db-wal") > 0);
  fs::resize_file(db, fs::file_size(db) / 2);
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store = SqliteStateStore::Open({.dir = dir});
  absl::Status status = store.ok() ? (*store)->Load().status() : store.status();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr(db.string()));
}

TEST(SqliteStateStoreTest, NewerSchemaIsRefused) {
  const std::string dir = FreshDir("newer");
  { OpenOrDie(dir); }
  {
    absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open((fs::path(dir) / "state.db").string(), false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(absl::StrCat("UPDATE schema_version SET version = ", kSchemaVersion + 1)).ok());
  }
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store = SqliteStateStore::Open({.dir = dir});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("newer fedge"));
  EXPECT_THAT(store.status().message(), HasSubstr("state.db"));
}

TEST(SqliteStateStoreTest, MigratesADatabaseOfSchemaVersion1) {
  const std::string dir = FreshDir("migrate");
  fs::create_directories(dir);
  {
    // Written the way schema version 1 wrote it.
    absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open((fs::path(dir) / "state.db").string(), true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(MigrateSchema(**db, 1).ok());
    proto::DeviceInfo info;
    info.set_device_id("old-device");
    absl::StatusOr<SqliteStatement> insert =
        (*db)->Prepare("INSERT INTO devices VALUES ('old-device', ?, 5, 6, 7, 0.25)");
    ASSERT_TRUE(insert.ok()) << insert.status();
    ASSERT_TRUE(insert->BindBlob(1, info.SerializeAsString()).Run().ok());
  }
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  absl::StatusOr<StoredState> s = store->Load();
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->devices.size(), 1u);
  EXPECT_EQ(s->devices[0].device_id, "old-device");
  EXPECT_EQ(s->devices[0].rounds_joined, 7);
  EXPECT_EQ(s->devices[0].epsilon_spent, 0.25);
  EXPECT_EQ(s->devices[0].inference_version, 0u);  // added by the migration
  // The new columns are writable after the migration.
  StoredDevice d = s->devices[0];
  d.inference_version = 9;
  ASSERT_TRUE(store->SaveDevices({d}).ok());
  EXPECT_EQ(store->Load()->devices[0].inference_version, 9u);
}

// Version 2 stored every update with its bytes and no round progress: the
// migration gives each its size, and the round is resumed by replaying them.
TEST(SqliteStateStoreTest, MigratesADatabaseOfSchemaVersion2) {
  const std::string dir = FreshDir("migrate2");
  fs::create_directories(dir);
  {
    absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open((fs::path(dir) / "state.db").string(), true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(MigrateSchema(**db, 2).ok());
    absl::StatusOr<SqliteStatement> open = (*db)->Prepare("INSERT INTO open_round VALUES (1, 4, 3, 2, 0, 0, ?, x'')");
    ASSERT_TRUE(open.ok()) << open.status();
    ASSERT_TRUE(open->BindBlob(1, EncodeStrings({"a"})).Run().ok());
    absl::StatusOr<SqliteStatement> insert = (*db)->Prepare(
        "INSERT INTO updates (round, task_id, device_id, bytes) VALUES (4, 'r4-a', 'a', ?)");
    ASSERT_TRUE(insert.ok()) << insert.status();
    ASSERT_TRUE(insert->BindBlob(1, "seven b").Run().ok());
  }
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  absl::StatusOr<StoredState> s = store->Load();
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->open.has_value());
  ASSERT_EQ(s->open_updates.size(), 1u);
  EXPECT_EQ(s->open_updates[0].bytes, "seven b");
  EXPECT_EQ(s->open_updates[0].size, 7u);
  EXPECT_TRUE(s->open_progress.empty());
}

// A batch's progress replaces the round's; opening the round again or
// closing it forgets it.
TEST(SqliteStateStoreTest, RoundProgressIsKeptWithItsBatchAndDroppedWithItsRound) {
  const std::string dir = FreshDir("progress");
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  ASSERT_TRUE(store->StartRun({{"k", "v"}}).ok());
  ASSERT_TRUE(store->OpenRound(OpenRoundOf(1, 1, {"a", "b"}), {}).ok());
  AckedUpdate a = Update(1, "a", "");
  a.size = 40;
  ASSERT_TRUE(store->AppendUpdates(AckBatch{{a}, "progress 1"}).ok());
  ASSERT_TRUE(store->AppendUpdates(AckBatch{{Update(1, "b", "")}, "progress 2"}).ok());
  store.reset();
  store = OpenOrDie(dir);
  absl::StatusOr<StoredState> s = store->Load();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->open_progress, "progress 2");
  ASSERT_EQ(s->open_updates.size(), 2u);
  EXPECT_EQ(s->open_updates[0].size, 40u);
  EXPECT_EQ(s->open_updates[1].task_id, "r1-b");
  ASSERT_TRUE(store->OpenRound(OpenRoundOf(1, 1, {"a", "b"}), {}).ok());
  EXPECT_TRUE(store->Load()->open_progress.empty());
  EXPECT_TRUE(store->Load()->open_updates.empty());
  ASSERT_TRUE(store->AppendUpdates(AckBatch{{a}, "progress 3"}).ok());
  RoundClosure closure;
  closure.round = 1;
  closure.pending.record.set_round(1);
  ASSERT_TRUE(store->CloseRound(closure).ok());
  // The closed round's acknowledgements are kept for replayed replies.
  s = store->Load();
  ASSERT_EQ(s->last_closed_updates.size(), 1u);
  EXPECT_EQ(s->last_closed_updates[0].device_id, "a");
  EXPECT_EQ(s->last_closed_updates[0].size, 40u);
  EXPECT_TRUE(s->open_progress.empty());
  ASSERT_TRUE(store->OpenRound(OpenRoundOf(2, 1, {"a"}), {}).ok());
  EXPECT_TRUE(store->Load()->open_progress.empty());
}

TEST(SqliteStateStoreTest, FullProgressFileIsResourceExhaustedAndChangesNothing) {
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
      SqliteStateStore::Open({.dir = FreshDir("progress_full"), .max_progress_bytes = 1000});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->OpenRound(OpenRoundOf(1, 1, {"a", "b"}), {}).ok());
  ASSERT_TRUE((*store)->AppendUpdates(AckBatch{{Update(1, "a", "")}, "small"}).ok());
  const absl::Status full = (*store)->AppendUpdates(AckBatch{{Update(1, "b", "")}, std::string(2000, 'x')});
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  absl::StatusOr<StoredState> s = (*store)->Load();
  EXPECT_EQ(s->open_progress, "small");
  EXPECT_EQ(s->open_updates.size(), 1u);
}

TEST(SqliteStateStoreTest, MigratesSchema3ToTheFleetRegistry) {
  const std::string dir = FreshDir("migrate_registry");
  fs::create_directories(dir);
  {
    // Written the way schema version 3 wrote it (the devices of version 2).
    absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open((fs::path(dir) / "state.db").string(), true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(MigrateSchema(**db, 3).ok());
    proto::DeviceInfo info;
    info.set_device_id("v2-device");
    proto::DeviceDrift drift;
    drift.set_alarms(3);
    absl::StatusOr<SqliteStatement> insert =
        (*db)->Prepare("INSERT INTO devices VALUES ('v2-device', ?, 5, 6, 7, 0.25, 4, ?)");
    ASSERT_TRUE(insert.ok()) << insert.status();
    ASSERT_TRUE(insert->BindBlob(1, info.SerializeAsString()).BindBlob(2, drift.SerializeAsString()).Run().ok());
  }
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  absl::StatusOr<StoredState> s = store->Load();
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->devices.size(), 1u);
  StoredDevice d = s->devices[0];
  EXPECT_EQ(d.inference_version, 4u);
  EXPECT_EQ(d.drift.alarms(), 3u);
  // Added by the migration: every known device is active, and its accepted
  // updates are the rounds it joined.
  EXPECT_EQ(d.status, proto::DEVICE_STATUS_ACTIVE);
  EXPECT_EQ(d.updates_accepted, 7);
  EXPECT_EQ(d.updates_rejected, 0);
  EXPECT_TRUE(d.certificate_sha256.empty());
  EXPECT_TRUE(d.metrics.empty());
  EXPECT_TRUE(d.training_metrics.empty());
  // The registry columns round-trip.
  d.status = proto::DEVICE_STATUS_REVOKED;
  d.certificate_sha256 = "ab12";
  d.updates_rejected = 2;
  d.last_rejection = "update norm 12 exceeds the bound 10";
  d.last_rejection_unix_micros = 99;
  d.training_version = 5;
  d.metrics = {{"local_accuracy", 0.75}, {"inference_latency_ms", 1.5}};
  d.last_report_unix_micros = 98;
  d.training_metrics = {{"train_loss", 0.25}};
  ASSERT_TRUE(store->SaveDevices({d}).ok());
  absl::StatusOr<StoredState> again = store->Load();
  ASSERT_TRUE(again.ok()) << again.status();
  const StoredDevice& r = again->devices[0];
  EXPECT_EQ(r.status, proto::DEVICE_STATUS_REVOKED);
  EXPECT_EQ(r.certificate_sha256, "ab12");
  EXPECT_EQ(r.updates_accepted, 7);
  EXPECT_EQ(r.updates_rejected, 2);
  EXPECT_EQ(r.last_rejection, d.last_rejection);
  EXPECT_EQ(r.last_rejection_unix_micros, 99);
  EXPECT_EQ(r.training_version, 5u);
  EXPECT_EQ(r.metrics, d.metrics);
  EXPECT_EQ(r.last_report_unix_micros, 98);
  EXPECT_EQ(r.training_metrics, d.training_metrics);
}

TEST(SqliteStateStoreTest, AnUnknownDeviceStatusIsDataLoss) {
  const std::string dir = FreshDir("bad_status");
  {
    std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
    ASSERT_TRUE(store->SaveDevices({Device("x")}).ok());
  }
  {
    absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open((fs::path(dir) / "state.db").string(), false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("UPDATE devices SET status = 3").ok());  // offline is never stored
  }
  absl::StatusOr<StoredState> s = OpenOrDie(dir)->Load();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.status().message(), HasSubstr("device 'x' has the unknown status 3"));
}

TEST(SqliteStateStoreTest, ModelFileWithAnotherHashNamesTheFile) {
  const std::string dir = FreshDir("hash");
  {
    std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
    ASSERT_TRUE(store->SaveInitialModel(Model(1)).ok());
  }
  const std::string path = ModelFilePath((fs::path(dir) / "models").string(), Sha256Hex(Model(1).artifact));
  std::ofstream(path, std::ios::trunc) << "tampered";
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  absl::StatusOr<StoredState> s = store->Load();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.status().message(), HasSubstr(path));
  EXPECT_THAT(s.status().message(), HasSubstr("global model version 1"));
}

TEST(SqliteStateStoreTest, BackupWhileOpenIsAUsableStateDirectory) {
  const std::string dir = FreshDir("backup_src");
  const std::string copy = FreshDir("backup_copy");
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  WriteRun(*store);
  ASSERT_TRUE(BackupStateDir(dir, copy).ok());
  EXPECT_EQ(BackupStateDir(dir, copy).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(store->AppendUpdate(Update(2, "c")).ok());  // after the snapshot
  std::unique_ptr<SqliteStateStore> restored = OpenOrDie(copy);
  absl::StatusOr<StoredState> s = restored->Load();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->model->version, 2u);
  EXPECT_EQ(s->open_updates.size(), 2u);
  EXPECT_EQ(s->devices.size(), 2u);
}

TEST(SqliteStateStoreTest, BackupCopiesTheOpenRoundsProgress) {
  const std::string dir = FreshDir("backup_progress_src");
  const std::string copy = FreshDir("backup_progress_copy");
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  ASSERT_TRUE(store->OpenRound(OpenRoundOf(1, 1, {"a", "b"}), {}).ok());
  ASSERT_TRUE(store->AppendUpdates(AckBatch{{Update(1, "a", "")}, "progress 1"}).ok());
  ASSERT_TRUE(store->AppendUpdates(AckBatch{{Update(1, "b", "")}, "progress 2"}).ok());
  ASSERT_TRUE(BackupStateDir(dir, copy).ok());
  absl::StatusOr<StoredState> s = OpenOrDie(copy)->Load();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->open_progress, "progress 2");
  EXPECT_EQ(s->open_updates.size(), 2u);
}

}  // namespace
}  // namespace fedge

namespace fedge {
namespace {

TEST(SqliteStateStoreTest, MigratesSchema5ToTheRolloutRecord) {
  const std::string dir = FreshDir("migrate_rollout");
  fs::create_directories(dir);
  {
    // Written the way schema version 5 wrote it: two deployments, no rollout.
    absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open((fs::path(dir) / "state.db").string(), true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(MigrateSchema(**db, 5).ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO deployments VALUES (1, 3, x'0102'); "
                            "INSERT INTO deployments VALUES (2, 5, x'0304');")
                    .ok());
  }
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  absl::StatusOr<StoredState> s = store->Load();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->rollout.empty());
  ASSERT_TRUE(s->deployed.has_value());
  EXPECT_EQ(s->deployed->version, 2u);
  // The older deployment stays reachable for the rollout's previous version.
  absl::StatusOr<std::optional<StoredDeployment>> older = store->LoadDeployment(1);
  ASSERT_TRUE(older.ok() && older->has_value());
  EXPECT_EQ((*older)->parent_version, 3u);
  EXPECT_EQ((*older)->artifact, std::string("\x01\x02", 2));
  EXPECT_FALSE(store->LoadDeployment(7)->has_value());
  // The rollout record round-trips and is replaced, not appended.
  ASSERT_TRUE(store->SaveRollout("first").ok());
  ASSERT_TRUE(store->SaveRollout("second").ok());
  EXPECT_EQ(store->Load()->rollout, "second");
}

}  // namespace
}  // namespace fedge
