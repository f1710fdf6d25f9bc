// File: client/data/idx_source.h
//
// `IdxSource`: a fixed set of labelled IDX images (core/idx.h), e.g. a
// device's shard of the Fashion-MNIST train split or the examples an index
// file names. The first Polls hand out every selected image (pixels as
// bytes, for the Preprocessor's byte_scale), then the source is exhausted.
//
// Ownership: owns a copy of the selected images only.
// Thread-safety: thread-compatible.
#ifndef FEDGE_CLIENT_DATA_IDX_SOURCE_H_
#define FEDGE_CLIENT_DATA_IDX_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "client/data/data_source.h"
#include "core/idx.h"

namespace fedge {

class IdxSource final : public DataSource {
 public:
  // The images of `data` at `indices`, in that order; `name` describes the
  // set in logs. kInvalidArgument for an index outside the dataset or no
  // index at all.
  static absl::StatusOr<std::unique_ptr<IdxSource>> Create(const ImageDataset& data,
                                                           absl::Span<const int64_t> indices, std::string name);

  // Every image of `data`, taken over (e.g. LoadFashionMnistExamples's
  // selection). kInvalidArgument when it holds none or its sizes disagree.
  static absl::StatusOr<std::unique_ptr<IdxSource>> Create(ImageDataset data, std::string name);

  absl::StatusOr<int64_t> Poll(int64_t max_examples, std::vector<SourceExample>* out) override;
  bool exhausted() const override { return next_ >= num_examples_; }
  bool finite() const override { return true; }
  int64_t dim() const override { return dim_; }
  std::string description() const override { return name_; }
  const DataSourceStats& stats() const override { return stats_; }
  // Examples selected (handed out or not).
  int64_t num_examples() const { return num_examples_; }

 private:
  IdxSource(std::vector<uint8_t> images, std::vector<uint8_t> labels, int64_t dim, std::string name);

  std::vector<uint8_t> images_;
  std::vector<uint8_t> labels_;
  int64_t dim_;
  int64_t num_examples_;
  int64_t next_ = 0;
  std::string name_;
  DataSourceStats stats_;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_DATA_IDX_SOURCE_H_
