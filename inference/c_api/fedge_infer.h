/* File: inference/c_api/fedge_infer.h
 *
 * The C API of fedge's int8 runtime, for applications on a device that want
 * the model the federation deployed: open a slot pinned to the coordinator's
 * signing key, install a signed artifact (verified, validated and planned
 * before it can serve), classify, read the model's version, close. Library:
 * libfedge_infer.so (no LibTorch, no C++ types or exceptions cross this
 * header). The artifact is usually the one fedge-device keeps in its
 * inference directory (`<inference_dir>/active.fedge`).
 *
 *   fedge_slot* slot = NULL;
 *   if (fedge_slot_open("coordinator.pub.pem", &slot) != FEDGE_OK) { puts(fedge_last_error()); ... }
 *   fedge_slot_install_file(slot, "/var/lib/fedge/model/active.fedge");
 *   float probs[10]; int label;
 *   fedge_slot_classify(slot, pixels, 784, probs, 10, &label);
 *   fedge_slot_close(slot);
 *
 * Errors: every function returning fedge_status sets a message retrievable
 * with fedge_last_error() on the same thread (valid until that thread's next
 * call into this library).
 *
 * Thread-safety: a slot may be used from several threads at once; an
 * install swaps the model atomically while classifications continue, and
 * classifications on one slot are serialised. fedge_slot_close must not run
 * concurrently with any other call on that slot.
 */
#ifndef FEDGE_INFERENCE_C_API_FEDGE_INFER_H_
#define FEDGE_INFERENCE_C_API_FEDGE_INFER_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FEDGE_INFER_BUILDING)
#define FEDGE_INFER_API __attribute__((visibility("default")))
#else
#define FEDGE_INFER_API
#endif

/* The same numbers as absl::StatusCode (and gRPC). */
typedef enum {
  FEDGE_OK = 0,
  FEDGE_INVALID_ARGUMENT = 3,     /* bad sizes, non-finite input, malformed artifact */
  FEDGE_NOT_FOUND = 5,            /* a file does not exist */
  FEDGE_PERMISSION_DENIED = 7,    /* the artifact does not verify with the pinned key */
  FEDGE_RESOURCE_EXHAUSTED = 8,   /* the model exceeds the runtime's load limits */
  FEDGE_FAILED_PRECONDITION = 9,  /* no model installed, or a version that is not newer */
  FEDGE_INTERNAL = 13,
  FEDGE_UNAVAILABLE = 14,         /* a file cannot be read */
} fedge_status;

typedef struct fedge_slot fedge_slot; /* opaque */

/* Opens an empty slot that accepts only artifacts signed by the Ed25519 key in
 * `public_key_pem_path`. On success *out owns the slot (free with
 * fedge_slot_close). */
FEDGE_INFER_API fedge_status fedge_slot_open(const char* public_key_pem_path, fedge_slot** out);

/* Verifies, validates and loads a signed int8 artifact, then makes it the
 * served model. Refused (slot unchanged) unless it is newer than the model
 * served (same model family). */
FEDGE_INFER_API fedge_status fedge_slot_install(fedge_slot* slot, const uint8_t* artifact, size_t size);
FEDGE_INFER_API fedge_status fedge_slot_install_file(fedge_slot* slot, const char* path);

/* Classifies one example: `input` holds fedge_slot_input_size() normalised
 * floats in [C, H, W] order; `probabilities` receives
 * fedge_slot_num_classes() values; `label` (may be NULL) the arg-max.
 * FEDGE_FAILED_PRECONDITION before the first install. */
FEDGE_INFER_API fedge_status fedge_slot_classify(fedge_slot* slot, const float* input, size_t input_size,
                                                 float* probabilities, size_t num_probabilities, int* label);

/* The served model's version, inputs per example and classes; 0 when no
 * model is installed. */
FEDGE_INFER_API uint64_t fedge_slot_version(const fedge_slot* slot);
FEDGE_INFER_API size_t fedge_slot_input_size(const fedge_slot* slot);
FEDGE_INFER_API size_t fedge_slot_num_classes(const fedge_slot* slot);

/* Frees the slot; NULL is ignored. */
FEDGE_INFER_API void fedge_slot_close(fedge_slot* slot);

/* The message of this thread's last failed call ("" if none). */
FEDGE_INFER_API const char* fedge_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* FEDGE_INFERENCE_C_API_FEDGE_INFER_H_ */
