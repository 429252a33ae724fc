// Machine- and person-readable forms of planner results: JSON (schema names
// "pivot.plan.v1", "pivot.plan.compare.v1", "pivot.plan.target.v1",
// "pivot.plan.train.v1", "pivot.plan.calibration.v1", "pivot.plan.catalog.v1",
// "pivot.plan.models.v1"; unknown numbers are null,
// units are in the key names) and an SVG bar chart comparing chips.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pivot/plan.h"
#include "pivot/plan_calibrate.h"

namespace pivot::plan {

using ojson = nlohmann::ordered_json;

ojson to_json(const Plan& p);
ojson to_json(const TargetPlan& t);
ojson to_json(const TrainPlan& t);
ojson to_json(const Calibration& c);
ojson compare_json(const std::vector<Plan>& plans);
// `pivot plan --list --json`: every catalog entry with its published numbers.
ojson catalog_json(const Catalog& cat);
// `pivot plan --list-models --json`: the presets of presets_path, resolved.
ojson models_json(const std::string& presets_path);

// Formula sources, as cited in plan.h / plan_model.h (for --json consumers).
ojson formula_sources();

// One bar group per plan: decode tokens/s per chip and output tokens/s per chip,
// with TTFT/TPOT labels. Chips whose numbers are unknown are drawn as "n/a".
std::string compare_svg(const std::vector<Plan>& plans, const std::string& title);

}  // namespace pivot::plan
