#include "coordinator/testing/federation_fixtures.h"

#include <utility>

namespace fedge::testing {

ModelParams TinyModel() {
  ModelParams m;
  m.layout = *ParamLayout::Create({{"w", {4}}});
  m.values = {0, 0, 0, 0};
  return m;
}

absl::StatusOr<std::map<std::string, double>> SumEvaluator::Evaluate(const ModelParams& params) {
  ++calls;
  if (during_next) std::exchange(during_next, nullptr)();
  double sum = 0;
  for (float v : params.values) sum += v;
  return std::map<std::string, double>{{"test_sum", sum}};
}

proto::EncodedUpdate Fp32Update(const proto::Task& task, const std::vector<float>& delta, uint64_t examples) {
  proto::EncodedUpdate u;
  u.set_round(task.round());
  u.set_task_id(task.task_id());
  u.set_base_version(task.model_version());
  u.set_layout_id(TinyModel().layout.id());
  u.set_num_elements(delta.size());
  u.set_codec("fp32");
  u.set_payload(std::string(reinterpret_cast<const char*>(delta.data()), delta.size() * sizeof(float)));
  u.set_num_examples(examples);
  return u;
}

}  // namespace fedge::testing
