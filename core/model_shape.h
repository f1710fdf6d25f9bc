// File: core/model_shape.h
//
// The input width and class count a zoo model is built for (models/zoo.h).
// The image models take 28x28 images and 10 classes and ignore it; the
// tabular MLP (`mlp_tabular`) is built for `input_features` numeric features
// and `num_classes` classes. It is part of the shared `[model]` settings
// (settings/federation_settings.h: model.input_features, model.num_classes),
// so the coordinator and every device build the same parameter layout.
// Plain data, LibTorch-free.
#ifndef FEDGE_CORE_MODEL_SHAPE_H_
#define FEDGE_CORE_MODEL_SHAPE_H_

#include <cstdint>

namespace fedge {

struct ModelShape {
  // Features per example; 0 = the architecture's own (784 for the image models).
  int64_t input_features = 0;
  // Output classes.
  int64_t num_classes = 10;
};

}  // namespace fedge

#endif  // FEDGE_CORE_MODEL_SHAPE_H_
