#include "client/device_data_setup.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/data/csv_source.h"
#include "client/data/idx_source.h"
#include "client/data/spool_source.h"
#include "client/torch_scorer.h"
#include "core/file_util.h"
#include "core/idx.h"
#include "core/random.h"
#include "core/status.h"

namespace fedge {
namespace {

constexpr int64_t kImagePixels = 28 * 28;
constexpr int64_t kDefaultWindow = 1024;

absl::StatusOr<std::vector<int64_t>> LocalIndices(const DeviceDataConfig& data, int64_t num_examples) {
  if (data.index_file.empty()) return IidShard(num_examples, data.shard, data.num_shards, data.shard_seed);
  FEDGE_ASSIGN_OR_RETURN(std::string text, ReadFile(data.index_file));
  absl::StatusOr<std::vector<int64_t>> indices = ParseIndexList(text, num_examples);
  if (!indices.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(data.index_file, ": ", indices.status().message()));
  }
  return indices;
}

CsvFormat FormatFor(const DeviceConfig& config) {
  CsvFormat format = config.data.csv;
  format.num_features = ConfiguredInputWidth(config);
  format.num_classes = config.trainer.shape.num_classes;
  return format;
}

PreprocessOptions PreprocessFor(const DeviceConfig& config, int64_t dim) {
  PreprocessOptions p;  // the image defaults
  p.dim = dim;
  p.num_classes = config.trainer.shape.num_classes;
  if (config.data.format == "csv") {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    p.min_value = -kInf;
    p.max_value = kInf;
    p.statistics = StatisticsMode::kPerFeature;
    p.prior_mean = 0;
    p.prior_std = 1;
    p.prior_examples = 10;
  }
  config.data.preprocess.ApplyTo(&p);
  return p;
}

}  // namespace

int64_t ConfiguredInputWidth(const DeviceConfig& config) {
  return config.trainer.shape.input_features > 0 ? config.trainer.shape.input_features : kImagePixels;
}

absl::StatusOr<std::unique_ptr<DataSource>> OpenDeviceDataSource(const DeviceConfig& config) {
  const DeviceDataConfig& data = config.data;
  if (data.source == "spool") {
    return SpoolSource::Open({.dir = data.path, .format = FormatFor(config), .max_file_bytes = data.max_file_bytes});
  }
  if (data.format == "csv") return CsvSource::Open(data.path, FormatFor(config));
  // Only the device's own examples are kept while the split is inflated.
  FEDGE_ASSIGN_OR_RETURN(ImageDataset local,
                         LoadFashionMnistExamples(data.dir, "train", [&data](int64_t num_examples) {
                           return LocalIndices(data, num_examples);
                         }));
  const std::string name = data.index_file.empty()
                               ? absl::StrCat("idx ", data.dir, " shard ", data.shard, "/", data.num_shards)
                               : absl::StrCat("idx ", data.dir, " examples of ", data.index_file);
  return IdxSource::Create(std::move(local), name);
}

DevicePipelineOptions MakeDevicePipelineOptions(const DeviceConfig& config, const DataSource& source) {
  const DeviceDataConfig& data = config.data;
  DevicePipelineOptions o;
  o.device_id = config.device.device_id;
  o.stream.preprocess = PreprocessFor(config, source.dim());
  // A finite IDX shard is held whole by default, as the device trained on
  // all of it before it had a store.
  int64_t window = data.store.window;
  if (window == 0) {
    window = kDefaultWindow;
    if (const auto* idx = dynamic_cast<const IdxSource*>(&source)) window = std::max(window, idx->num_examples());
  }
  o.stream.store.dim = source.dim();
  o.stream.store.window_capacity = window;
  o.stream.store.reservoir_capacity = data.store.reservoir;
  o.stream.drift_hold_examples = config.drift.settings.hold_examples;
  o.train_examples = data.store.train_examples;
  o.monitor_drift = config.drift.enabled;
  o.drift = config.drift.settings;
  return o;
}

absl::StatusOr<std::unique_ptr<DevicePipeline>> CreateDevicePipeline(const DeviceConfig& config, Clock* clock) {
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<DataSource> source, OpenDeviceDataSource(config));
  const DevicePipelineOptions options = MakeDevicePipelineOptions(config, *source);
  std::unique_ptr<ExampleScorer> scorer;
  if (options.monitor_drift) {
    FEDGE_ASSIGN_OR_RETURN(scorer, TorchScorer::Create(config.trainer.architecture, config.trainer.shape));
  }
  // The reservoir's own stream of the device seed.
  return DevicePipeline::Create(options, std::move(source), std::move(scorer),
                                DeriveSeed(config.device.seed, /*stream=*/0x73746f7265ULL), clock);
}

}  // namespace fedge
