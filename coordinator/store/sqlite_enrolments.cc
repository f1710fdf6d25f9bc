// SqliteStateStore as the EnrolmentStore (enrolment_store.h): the tables
// enrol_tokens and enrolments of schema version 5.
#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/store/sqlite_state_store.h"
#include "core/status.h"

namespace fedge {
namespace {

// A token expired this long ago is forgotten (and then refused as unknown).
constexpr int64_t kForgetExpiredAfterMicros = int64_t{7} * 24 * 3600 * 1'000'000;

constexpr char kEnrolmentColumns[] =
    "device_id, token_sha256, public_key_sha256, csr, state, certificate, serial, requested, revoked";

StoredEnrolment ReadEnrolment(const SqliteStatement& row) {
  StoredEnrolment e;
  e.device_id = row.Text(0);
  e.token_sha256 = row.Text(1);
  e.public_key_sha256 = row.Text(2);
  e.csr_pem = row.Text(3);
  e.state = static_cast<EnrolmentState>(row.Int(4));
  e.certificate_pem = row.Text(5);
  e.serial_hex = row.Text(6);
  e.requested_unix_micros = row.Int(7);
  e.revoked_unix_micros = row.Int(8);
  return e;
}

absl::Status BindEnrolment(SqliteStatement& statement, const StoredEnrolment& e) {
  return statement.BindText(1, e.device_id)
      .BindText(2, e.token_sha256)
      .BindText(3, e.public_key_sha256)
      .BindText(4, e.csr_pem)
      .Bind(5, static_cast<int64_t>(e.state))
      .BindText(6, e.certificate_pem)
      .BindText(7, e.serial_hex)
      .Bind(8, e.requested_unix_micros)
      .Bind(9, e.revoked_unix_micros)
      .Run();
}

// Why a token cannot be consumed, or OK. Read inside the consuming
// transaction, so the answer cannot change before it commits.
absl::Status TokenUsable(SqliteDb& db, const std::string& sha256, int64_t now) {
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement token,
                         db.Prepare("SELECT expires, used, device_id FROM enrol_tokens WHERE sha256 = ?"));
  token.BindText(1, sha256);
  FEDGE_ASSIGN_OR_RETURN(bool found, token.Step());
  if (!found) {
    return absl::PermissionDeniedError(
        "enrolment token unknown: check it was copied whole, or ask for a new one (fedgectl token create)");
  }
  if (token.Int(1) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "enrolment token already used (by device \"", token.Text(2), "\"); each token enrols one device once"));
  }
  if (token.Int(0) <= now) {
    return absl::PermissionDeniedError("enrolment token expired; ask for a new one (fedgectl token create)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SqliteStateStore::AddTokens(const std::vector<StoredToken>& tokens, int64_t now_unix_micros) {
  absl::MutexLock lock(&mu_);
  SqliteTransaction txn(db_.get());
  FEDGE_RETURN_IF_ERROR(txn.Begin());
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement forget, db_->Prepare("DELETE FROM enrol_tokens WHERE expires < ?"));
  FEDGE_RETURN_IF_ERROR(forget.Bind(1, now_unix_micros - kForgetExpiredAfterMicros).Run());
  for (const StoredToken& t : tokens) {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement insert,
                           db_->Prepare("INSERT INTO enrol_tokens (sha256, created, expires) VALUES (?, ?, ?)"));
    FEDGE_RETURN_IF_ERROR(
        insert.BindText(1, t.sha256).Bind(2, t.created_unix_micros).Bind(3, t.expires_unix_micros).Run());
  }
  return txn.Commit();
}

absl::Status SqliteStateStore::ConsumeToken(const StoredEnrolment& enrolment, int64_t now_unix_micros) {
  absl::MutexLock lock(&mu_);
  SqliteTransaction txn(db_.get());
  FEDGE_RETURN_IF_ERROR(txn.Begin());
  FEDGE_RETURN_IF_ERROR(TokenUsable(*db_, enrolment.token_sha256, now_unix_micros));
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement exists, db_->Prepare("SELECT 1 FROM enrolments WHERE device_id = ?"));
  exists.BindText(1, enrolment.device_id);
  FEDGE_ASSIGN_OR_RETURN(bool taken, exists.Step());
  if (taken) {
    return absl::AlreadyExistsError(absl::StrCat("device id \"", enrolment.device_id,
                                                 "\" is already enrolled; enrol under another id"));
  }
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement use,
                         db_->Prepare("UPDATE enrol_tokens SET used = ?, device_id = ? WHERE sha256 = ?"));
  FEDGE_RETURN_IF_ERROR(
      use.Bind(1, now_unix_micros).BindText(2, enrolment.device_id).BindText(3, enrolment.token_sha256).Run());
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement insert,
                         db_->Prepare(absl::StrCat("INSERT INTO enrolments (", kEnrolmentColumns,
                                                   ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")));
  FEDGE_RETURN_IF_ERROR(BindEnrolment(insert, enrolment));
  return txn.Commit();
}

absl::StatusOr<std::optional<StoredEnrolment>> SqliteStateStore::FindEnrolment(std::string_view device_id) {
  absl::MutexLock lock(&mu_);
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement find, db_->Prepare(absl::StrCat("SELECT ", kEnrolmentColumns,
                                                                          " FROM enrolments WHERE device_id = ?")));
  find.BindText(1, device_id);
  FEDGE_ASSIGN_OR_RETURN(bool found, find.Step());
  if (!found) return std::nullopt;
  return ReadEnrolment(find);
}

absl::Status SqliteStateStore::UpdateEnrolment(const StoredEnrolment& enrolment) {
  absl::MutexLock lock(&mu_);
  SqliteTransaction txn(db_.get());
  FEDGE_RETURN_IF_ERROR(txn.Begin());
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement exists, db_->Prepare("SELECT 1 FROM enrolments WHERE device_id = ?"));
  exists.BindText(1, enrolment.device_id);
  FEDGE_ASSIGN_OR_RETURN(bool found, exists.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("device \"", enrolment.device_id, "\" never enrolled"));
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement replace,
                         db_->Prepare(absl::StrCat("INSERT OR REPLACE INTO enrolments (", kEnrolmentColumns,
                                                   ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")));
  FEDGE_RETURN_IF_ERROR(BindEnrolment(replace, enrolment));
  return txn.Commit();
}

absl::StatusOr<std::vector<StoredEnrolment>> SqliteStateStore::ListEnrolments(EnrolmentState state) {
  absl::MutexLock lock(&mu_);
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement list,
                         db_->Prepare(absl::StrCat("SELECT ", kEnrolmentColumns,
                                                   " FROM enrolments WHERE state = ? ORDER BY device_id")));
  list.Bind(1, static_cast<int64_t>(state));
  std::vector<StoredEnrolment> out;
  for (;;) {
    FEDGE_ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    out.push_back(ReadEnrolment(list));
  }
  return out;
}

}  // namespace fedge
