/* infer_app KEY.pem MODEL.fedge INPUT.f32: classifies one example with a
 * signed int8 model through fedge's C API, as an application on a device
 * serving the federation's deployed model would (usually MODEL is
 * fedge-device's <inference_dir>/active.fedge and KEY the coordinator's
 * public signing key). INPUT.f32 holds the normalised example as raw
 * little-endian floats. Prints "version <v> label <l> p <p0> ... <pN-1>". */
#include <stdio.h>
#include <stdlib.h>

#include "inference/c_api/fedge_infer.h"

static int fail(const char* what) {
  fprintf(stderr, "infer_app: %s: %s\n", what, fedge_last_error());
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: infer_app KEY.pem MODEL.fedge INPUT.f32\n");
    return 2;
  }
  fedge_slot* slot = NULL;
  if (fedge_slot_open(argv[1], &slot) != FEDGE_OK) return fail("open");
  if (fedge_slot_install_file(slot, argv[2]) != FEDGE_OK) return fail("install");

  const size_t n = fedge_slot_input_size(slot);
  const size_t classes = fedge_slot_num_classes(slot);
  float* input = malloc(n * sizeof(float));
  float* probs = malloc(classes * sizeof(float));
  FILE* f = fopen(argv[3], "rb");
  if (input == NULL || probs == NULL || f == NULL || fread(input, sizeof(float), n, f) != n) {
    fprintf(stderr, "infer_app: %s must hold %zu floats\n", argv[3], n);
    return 1;
  }
  fclose(f);

  int label = -1;
  if (fedge_slot_classify(slot, input, n, probs, classes, &label) != FEDGE_OK) return fail("classify");
  printf("version %llu label %d p", (unsigned long long)fedge_slot_version(slot), label);
  for (size_t i = 0; i < classes; ++i) printf(" %.6f", probs[i]);
  printf("\n");
  free(input);
  free(probs);
  fedge_slot_close(slot);
  return 0;
}
