// The C API over ModelSlot (inference/model_slot.h). Nothing may throw
// across the boundary: the runtime reports errors as absl::Status, and the
// only allocations that could throw (std::bad_alloc) are caught here.
#include "inference/c_api/fedge_infer.h"

#include <exception>
#include <memory>
#include <new>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/file_util.h"
#include "core/signing.h"
#include "inference/model_slot.h"

struct fedge_slot {
  std::unique_ptr<fedge::ModelSlot> slot;
};

namespace {

thread_local std::string last_error;

fedge_status Report(const absl::Status& status) {
  last_error = status.ok() ? std::string() : std::string(status.message());
  return static_cast<fedge_status>(static_cast<int>(status.code()));
}

// Runs `body` (returning absl::Status), turning exceptions into statuses.
template <typename F>
fedge_status Guard(F&& body) {
  try {
    return Report(body());
  } catch (const std::bad_alloc&) {
    return Report(absl::ResourceExhaustedError("out of memory"));
  } catch (const std::exception& e) {
    return Report(absl::InternalError(e.what()));
  }
}

fedge::ModelHandle Served(const fedge_slot* slot) {
  return slot == nullptr ? fedge::ModelHandle() : slot->slot->Acquire();
}

}  // namespace

extern "C" {

fedge_status fedge_slot_open(const char* public_key_pem_path, fedge_slot** out) {
  return Guard([&]() -> absl::Status {
    if (public_key_pem_path == nullptr || out == nullptr) {
      return absl::InvalidArgumentError("fedge_slot_open: public_key_pem_path and out must not be NULL");
    }
    *out = nullptr;
    absl::StatusOr<fedge::VerifyKey> key = fedge::VerifyKey::FromPemFile(public_key_pem_path);
    if (!key.ok()) return key.status();
    auto slot = std::make_unique<fedge_slot>();
    slot->slot = std::make_unique<fedge::ModelSlot>(*std::move(key), fedge::ModelSlotOptions{});
    *out = slot.release();
    return absl::OkStatus();
  });
}

fedge_status fedge_slot_install(fedge_slot* slot, const uint8_t* artifact, size_t size) {
  return Guard([&]() -> absl::Status {
    if (slot == nullptr || (artifact == nullptr && size > 0)) {
      return absl::InvalidArgumentError("fedge_slot_install: slot and artifact must not be NULL");
    }
    return slot->slot->Install(std::string_view(reinterpret_cast<const char*>(artifact), size));
  });
}

fedge_status fedge_slot_install_file(fedge_slot* slot, const char* path) {
  return Guard([&]() -> absl::Status {
    if (slot == nullptr || path == nullptr) {
      return absl::InvalidArgumentError("fedge_slot_install_file: slot and path must not be NULL");
    }
    absl::StatusOr<std::string> bytes = fedge::ReadFile(path);
    if (!bytes.ok()) return bytes.status();
    return slot->slot->Install(*bytes);
  });
}

fedge_status fedge_slot_classify(fedge_slot* slot, const float* input, size_t input_size, float* probabilities,
                                 size_t num_probabilities, int* label) {
  return Guard([&]() -> absl::Status {
    if (slot == nullptr || input == nullptr || probabilities == nullptr) {
      return absl::InvalidArgumentError("fedge_slot_classify: slot, input and probabilities must not be NULL");
    }
    const fedge::ModelHandle model = Served(slot);
    if (!model) return absl::FailedPreconditionError("no model installed: call fedge_slot_install first");
    int argmax = -1;
    absl::Status status = model.Classify(absl::MakeConstSpan(input, input_size),
                                         absl::MakeSpan(probabilities, num_probabilities), &argmax);
    if (status.ok() && label != nullptr) *label = argmax;
    return status;
  });
}

uint64_t fedge_slot_version(const fedge_slot* slot) {
  const fedge::ModelHandle model = Served(slot);
  return model ? model.version() : 0;
}

size_t fedge_slot_input_size(const fedge_slot* slot) {
  const fedge::ModelHandle model = Served(slot);
  return model ? static_cast<size_t>(model.input_size()) : 0;
}

size_t fedge_slot_num_classes(const fedge_slot* slot) {
  const fedge::ModelHandle model = Served(slot);
  return model ? static_cast<size_t>(model.num_classes()) : 0;
}

void fedge_slot_close(fedge_slot* slot) { delete slot; }

const char* fedge_last_error(void) { return last_error.c_str(); }

}  // extern "C"
