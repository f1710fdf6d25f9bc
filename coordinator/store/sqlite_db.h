// File: coordinator/store/sqlite_db.h
//
// A thin RAII layer over the SQLite C API for the state store: one
// connection (`SqliteDb`) with a cache of prepared statements, and a bound
// statement (`SqliteStatement`) that is reset when it goes out of scope.
// Every error becomes an absl::Status whose message names the database file
// and the operation; SQLITE_FULL maps to kResourceExhausted (disk full),
// SQLITE_CORRUPT / SQLITE_NOTADB to kDataLoss, SQLITE_BUSY / SQLITE_LOCKED
// to kUnavailable, anything else to kInternal.
//
// Thread-safety: none. The owner serialises access (SqliteStateStore holds
// a mutex); SQLite is opened in multi-thread mode.
#ifndef FEDGE_COORDINATOR_STORE_SQLITE_DB_H_
#define FEDGE_COORDINATOR_STORE_SQLITE_DB_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct sqlite3;
struct sqlite3_stmt;

namespace fedge {

class SqliteDb;

// A prepared statement in use. Bind parameters are 1-based as in SQLite.
// Borrowed from the SqliteDb's cache: it must not outlive the SqliteDb, and
// one statement text is used by one SqliteStatement at a time.
class SqliteStatement {
 public:
  SqliteStatement(SqliteDb* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteStatement(SqliteStatement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& Bind(int index, double value);
  SqliteStatement& BindText(int index, std::string_view value);
  SqliteStatement& BindBlob(int index, std::string_view value);

  // Advances to the next row: true with a row, false when done.
  absl::StatusOr<bool> Step();
  // Runs a statement that returns no rows.
  absl::Status Run();

  // Column accessors for the current row (0-based).
  int64_t Int(int column) const;
  double Real(int column) const;
  std::string Text(int column) const;
  std::string Blob(int column) const;
  bool IsNull(int column) const;

 private:
  SqliteDb* db_;
  sqlite3_stmt* stmt_;
};

class SqliteDb {
 public:
  // Opens (creating when `create`) the database at `path`. kNotFound when it
  // is missing and `create` is false.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path, bool create);
  ~SqliteDb();

  // Runs one or more statements without parameters.
  absl::Status Exec(std::string_view sql);
  // The cached prepared statement for `sql` (prepared on first use).
  absl::StatusOr<SqliteStatement> Prepare(const std::string& sql);

  // A status for SQLite result `rc` of `what`, naming the file.
  absl::Status Error(int rc, std::string_view what) const;

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

 private:
  SqliteDb(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  std::string path_;
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> statements_;
};

// A transaction: BEGIN IMMEDIATE on Begin(), ROLLBACK unless Commit() ran.
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  ~SqliteTransaction();
  absl::Status Begin();
  absl::Status Commit();

 private:
  SqliteDb* db_;
  bool open_ = false;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_SQLITE_DB_H_
