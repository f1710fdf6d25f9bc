/* fedge_infer_c_test FIXTURE_DIR: the C API from a program compiled as C and
 * linked only against libfedge_infer. Checks, against the C++ runtime's
 * answers (expected.txt from fedge-infer-c-fixture): a tampered artifact is
 * refused, the signed one verifies, loads and classifies identically, an
 * older version is refused, a newer one swaps in, bad calls report errors.
 * Also the process the RSS benchmark measures (bench/README.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inference/c_api/fedge_infer.h"

static int failures = 0;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, \
              #cond, fedge_last_error());                                            \
      ++failures;                                                                    \
    }                                                                                \
  } while (0)

static void PathIn(char* out, size_t size, const char* dir, const char* name) {
  snprintf(out, size, "%s/%s", dir, name);
}

static int ReadInput(const char* dir, float* input, size_t n) {
  char path[4096];
  PathIn(path, sizeof path, dir, "input.f32");
  FILE* f = fopen(path, "rb");
  if (f == NULL) return 0;
  const size_t read = fread(input, sizeof(float), n, f);
  fclose(f);
  return read == n;
}

static int ReadExpected(const char* dir, int* label, float* probs, size_t n) {
  char path[4096];
  PathIn(path, sizeof path, dir, "expected.txt");
  FILE* f = fopen(path, "r");
  if (f == NULL) return 0;
  int ok = fscanf(f, "%d", label) == 1;
  for (size_t i = 0; ok && i < n; ++i) ok = fscanf(f, "%f", &probs[i]) == 1;
  fclose(f);
  return ok;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: fedge_infer_c_test FIXTURE_DIR\n");
    return 2;
  }
  const char* dir = argv[1];
  char path[4096];
  float input[784], probs[10], expected_probs[10];
  int label = -1, expected_label = -1;
  if (!ReadInput(dir, input, 784) || !ReadExpected(dir, &expected_label, expected_probs, 10)) {
    fprintf(stderr, "cannot read the fixture in %s (run fedge-infer-c-fixture first)\n", dir);
    return 2;
  }

  fedge_slot* slot = NULL;
  CHECK(fedge_slot_open("/no/such/key.pem", &slot) != FEDGE_OK && slot == NULL);
  CHECK(strlen(fedge_last_error()) > 0);
  PathIn(path, sizeof path, dir, "key.pub.pem");
  CHECK(fedge_slot_open(path, &slot) == FEDGE_OK && slot != NULL);
  if (slot == NULL) return 1;
  CHECK(fedge_slot_version(slot) == 0);
  CHECK(fedge_slot_classify(slot, input, 784, probs, 10, &label) == FEDGE_FAILED_PRECONDITION);

  PathIn(path, sizeof path, dir, "tampered.fedge");
  CHECK(fedge_slot_install_file(slot, path) != FEDGE_OK);
  CHECK(fedge_slot_version(slot) == 0);

  PathIn(path, sizeof path, dir, "student_v1.fedge");
  CHECK(fedge_slot_install_file(slot, path) == FEDGE_OK);
  CHECK(fedge_slot_version(slot) == 1);
  CHECK(fedge_slot_input_size(slot) == 784 && fedge_slot_num_classes(slot) == 10);
  CHECK(fedge_slot_classify(slot, input, 784, probs, 10, &label) == FEDGE_OK);
  CHECK(label == expected_label);
  for (int i = 0; i < 10; ++i) CHECK(fabsf(probs[i] - expected_probs[i]) <= 1e-6f);

  CHECK(fedge_slot_install_file(slot, path) == FEDGE_FAILED_PRECONDITION); /* not newer */
  PathIn(path, sizeof path, dir, "student_v2.fedge");
  CHECK(fedge_slot_install_file(slot, path) == FEDGE_OK);
  CHECK(fedge_slot_version(slot) == 2);
  CHECK(fedge_slot_install(slot, (const uint8_t*)"junk", 4) != FEDGE_OK);
  CHECK(fedge_slot_version(slot) == 2);

  CHECK(fedge_slot_classify(slot, input, 783, probs, 10, &label) == FEDGE_INVALID_ARGUMENT);
  CHECK(strlen(fedge_last_error()) > 0);
  input[0] = NAN;
  CHECK(fedge_slot_classify(slot, input, 784, probs, 10, &label) == FEDGE_INVALID_ARGUMENT);
  CHECK(fedge_slot_classify(NULL, input, 784, probs, 10, &label) == FEDGE_INVALID_ARGUMENT);
  fedge_slot_close(slot);
  fedge_slot_close(NULL);

  if (failures > 0) {
    fprintf(stderr, "FAIL: %d checks failed\n", failures);
    return 1;
  }
  printf("PASS: the C API verified, loaded and classified like the C++ runtime\n");
  return 0;
}
