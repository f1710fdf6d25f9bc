#include "simulations/mpi_channel.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/env.h"
#include "core/status.h"
#include "simulations/mpi_messages.h"

namespace fedge {
namespace {

// Tags 1..kMaxTag carry calls; 0 carries the order to stop. MPI guarantees
// tags up to 32767.
constexpr int kStopTag = 0;
constexpr int kMaxTag = 32000;

absl::Status MpiError(int code, const char* call) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  return absl::UnavailableError(absl::StrCat(call, " failed: ", std::string(text, length)));
}

#define FEDGE_MPI(call)                                        \
  do {                                                         \
    const int fedge_mpi_rc = (call);                           \
    if (fedge_mpi_rc != MPI_SUCCESS) return MpiError(fedge_mpi_rc, #call); \
  } while (0)

// A short pause between polls, growing from 20 µs to 1 ms: quick answers
// are picked up at once, long waits cost almost no CPU.
class Backoff {
 public:
  void Pause() {
    std::this_thread::sleep_for(pause_);
    pause_ = std::min(pause_ * 2, std::chrono::microseconds(1000));
  }

 private:
  std::chrono::microseconds pause_{20};
};

absl::Status Wait(MPI_Request* request) {
  for (Backoff backoff;; backoff.Pause()) {
    int done = 0;
    FEDGE_MPI(MPI_Test(request, &done, MPI_STATUS_IGNORE));
    if (done) return absl::OkStatus();
  }
}

absl::Status Send(const std::string& bytes, int rank, int tag) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat("a message of ", bytes.size(), " bytes is over MPI's 2 GiB limit"));
  }
  MPI_Request request;
  FEDGE_MPI(MPI_Isend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, rank, tag, MPI_COMM_WORLD, &request));
  return Wait(&request);
}

// Receives the next message from `rank` with `tag` (MPI_ANY_TAG: any);
// sets *tag_out to its tag.
absl::StatusOr<std::string> Receive(int rank, int tag, int* tag_out = nullptr) {
  MPI_Message message;
  MPI_Status status;
  for (Backoff backoff;; backoff.Pause()) {
    int found = 0;
    FEDGE_MPI(MPI_Improbe(rank, tag, MPI_COMM_WORLD, &found, &message, &status));
    if (found) break;
  }
  int count = 0;
  FEDGE_MPI(MPI_Get_count(&status, MPI_BYTE, &count));
  std::string bytes(static_cast<size_t>(count), '\0');
  FEDGE_MPI(MPI_Mrecv(bytes.data(), count, MPI_BYTE, &message, MPI_STATUS_IGNORE));
  if (tag_out != nullptr) *tag_out = status.MPI_TAG;
  return bytes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MpiSession>> MpiSession::Init() {
  int provided = 0;
  FEDGE_MPI(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided));
  // Errors come back as codes, turned into statuses, instead of aborting the job.
  FEDGE_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  int rank = 0, size = 0;
  FEDGE_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  FEDGE_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size));
  std::unique_ptr<MpiSession> session(new MpiSession(rank, size));
  if (provided < MPI_THREAD_MULTIPLE) {
    return absl::UnavailableError(
        "this MPI library does not provide MPI_THREAD_MULTIPLE, which fedge-sim --mpi needs (Debian's Open MPI does)");
  }
  return session;
}

MpiSession::~MpiSession() { MPI_Finalize(); }

absl::StatusOr<std::string> MpiChannel::Call(int rank, std::string request) {
  if (rank < 1 || rank >= ranks()) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", rank, " is not a worker rank of ", ranks()));
  }
  const int tag = 1 + next_tag_.fetch_add(1) % kMaxTag;
  FEDGE_RETURN_IF_ERROR(Send(request, rank, tag));
  return Receive(rank, tag);
}

absl::Status MpiChannel::StopWorkers() {
  const std::string stop = EncodeMpiStop();
  absl::Status first;
  for (int rank = 1; rank < ranks(); ++rank) {
    absl::Status sent = Send(stop, rank, kStopTag);
    if (first.ok() && !sent.ok()) first = sent;
  }
  return first;
}

absl::Status ServeMpiWorker(const TrainingServer& server, int threads) {
  ThreadPool pool(threads);
  absl::Mutex mu;
  absl::Status failure;  // the first failed reply, guarded by mu
  auto record = [&](const absl::Status& status) {
    absl::MutexLock lock(&mu);
    if (failure.ok()) failure = status;
  };
  for (;;) {
    int tag = 0;
    absl::StatusOr<std::string> request = Receive(0, MPI_ANY_TAG, &tag);
    if (!request.ok()) {
      record(request.status());
      break;
    }
    if (tag == kStopTag) break;
    // Training runs on the pool, each reply sent from the thread that
    // trained it; the hello is answered at once.
    absl::StatusOr<MpiMessageKind> kind = PeekMpiMessageKind(*request);
    if (kind.ok() && *kind == MpiMessageKind::kTrain) {
      pool.Schedule([&server, &record, bytes = *std::move(request), tag] {
        absl::Status sent = Send(server.Handle(bytes), 0, tag);
        if (!sent.ok()) record(sent);
      });
    } else {
      absl::Status sent = Send(server.Handle(*request), 0, tag);
      if (!sent.ok()) record(sent);
    }
  }
  pool.Wait();
  absl::MutexLock lock(&mu);
  return failure;
}

}  // namespace fedge
