// Efficiency factors fitted to bench measurements. Method: include/pivot/plan_calibrate.h.
#include <cmath>
#include <nlohmann/json.hpp>

#include "pivot/error.h"
#include "pivot/plan_calibrate.h"

namespace pivot::plan {
namespace {

using json = nlohmann::json;

BenchPhase read_phase(const json& j, const char* key, const std::string& label) {
  BenchPhase p;
  if (!j.contains(key) || j[key].is_null()) return p;
  const json& o = j[key];
  if (!o.is_object()) fail("%s: field '%s': expected an object", label.c_str(), key);
  auto num = [&](const char* f, bool required) -> double {
    if (!o.contains(f) || o[f].is_null()) {
      if (required) fail("%s: missing field '%s.%s'", label.c_str(), key, f);
      return 0;
    }
    if (!o[f].is_number() || o[f].get<double>() < 0)
      fail("%s: field '%s.%s': expected a number >= 0, got %s", label.c_str(), key, f,
           o[f].dump().c_str());
    return o[f].get<double>();
  };
  p.n_tokens = int64_t(num("n_tokens", true));
  p.tokens_per_s = num("tokens_per_s", true);
  p.n_ctx_start = int64_t(num("n_ctx_start", false));
  return p;
}

// One prediction of a phase: tokens/s, the bound and the step time.
struct Predicted {
  double tps = kUnknown, time_s = kUnknown;
  std::string bound;
};

struct Case {
  BenchRecord rec;
  PlanModel model;
  Accelerator chip;
  PlanInputs in;
};

Predicted predict(const Case& c, const std::string& phase, const Efficiency& eff) {
  PlanInputs in = c.in;
  const BenchPhase& b = phase == "pp" ? c.rec.pp : c.rec.tg;
  Predicted out;
  if (phase == "pp") {
    in.prompt = std::max<int64_t>(1, b.n_tokens);
    in.output = 0;
    Plan p = make_plan(c.model, c.chip, eff, in);
    out.time_s = p.prefill.time_s;
    out.tps = double(in.prompt) / out.time_s;
    out.bound = p.prefill.bound;
  } else {
    in.prompt = std::max<int64_t>(1, b.n_ctx_start);
    in.output = b.n_tokens;
    Plan p = make_plan(c.model, c.chip, eff, in);
    out.time_s = p.decode.time_s;
    out.tps = 1.0 / out.time_s;
    out.bound = p.decode.bound;
  }
  return out;
}

double geomean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::log(x);
  return std::exp(s / double(v.size()));
}

}  // namespace

BenchRecord parse_bench_json(const std::string& text, const std::string& label) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("%s: not valid JSON: %s", label.c_str(), e.what());
  }
  if (!j.is_object()) fail("%s: expected a JSON object", label.c_str());
  BenchRecord r;
  r.path = label;
  auto str = [&](const char* key, bool required) -> std::string {
    if (!j.contains(key) || j[key].is_null()) {
      if (required) fail("%s: missing field '%s'", label.c_str(), key);
      return "";
    }
    if (!j[key].is_string()) fail("%s: field '%s': expected a string", label.c_str(), key);
    return j[key].get<std::string>();
  };
  r.backend = str("backend", true);
  r.model = str("model", true);
  r.weight_type = str("weight_type", false);
  if (j.contains("threads") && j["threads"].is_number_integer())
    r.threads = j["threads"].get<int>();
  r.pp = read_phase(j, "pp", label);
  r.tg = read_phase(j, "tg", label);
  if (r.pp.tokens_per_s <= 0 && r.tg.tokens_per_s <= 0)
    fail("%s: neither 'pp' nor 'tg' holds a measurement", label.c_str());
  if (j.contains("machine")) {
    if (!j["machine"].is_object()) fail("%s: field 'machine': expected an object", label.c_str());
    r.machine_json = j["machine"].dump();
    if (j["machine"].contains("chip") && j["machine"]["chip"].is_string())
      r.chip = j["machine"]["chip"].get<std::string>();
  }
  return r;
}

Calibration calibrate(const std::vector<BenchRecord>& records, const Catalog& catalog,
                      const std::string& presets_path) {
  Calibration cal;
  std::vector<Case> cases;
  for (const auto& r : records) {
    Case c{r, PlanModel::resolve(r.model, presets_path), {}, {}};
    if (!r.chip.empty())
      c.chip = catalog.find(r.chip);
    else if (r.backend == "cpu")
      c.chip = host_accelerator(r.machine_json);
    else
      fail("%s: backend '%s' needs machine.chip (a catalog id)", r.path.c_str(), r.backend.c_str());
    c.in.weight =
        r.weight_type.empty() ? c.model.default_weight_type() : dtype_from_name(r.weight_type);
    c.in.kv = dtype_from_name("f16");  // llama.cpp's and pivot's default KV type
    cases.push_back(std::move(c));
  }
  cal.notes.push_back("KV cache planned as f16; tg context = n_ctx_start + n_tokens/2");

  // Implied efficiency of each measurement, by backend and bounding term.
  struct Implied {
    size_t case_index;
    std::string phase, term;  // term: "compute" | "bandwidth"
    double value;
  };
  std::vector<Implied> implied;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const Efficiency e0 = catalog.efficiency(c.chip);
    for (const char* phase : {"pp", "tg"}) {
      const BenchPhase& b = std::string(phase) == "pp" ? c.rec.pp : c.rec.tg;
      if (b.tokens_per_s <= 0) continue;
      Predicted p = predict(c, phase, e0);
      if (!known(p.tps))
        fail("%s: cannot predict %s: catalog inputs missing for %s", c.rec.path.c_str(), phase,
             c.chip.id.c_str());
      const double scale = b.tokens_per_s / p.tps;  // = t_pred / t_meas
      if (p.bound == "compute")
        implied.push_back({i, phase, "compute", e0.compute * scale});
      else if (p.bound == "memory")
        implied.push_back({i, phase, "bandwidth", e0.bandwidth * scale});
      else
        cal.notes.push_back(c.rec.path + ": " + phase + " bound by " + p.bound + ": not fitted");
      if (std::string(phase) == "pp")
        cal.n_pp[c.rec.backend]++;
      else
        cal.n_tg[c.rec.backend]++;
    }
  }
  auto fit = [&](const std::string& backend, std::optional<size_t> leave_out,
                 const Efficiency& base) -> std::optional<Efficiency> {
    std::vector<double> comp, bw;
    for (const auto& im : implied) {
      if (cases[im.case_index].rec.backend != backend || leave_out == im.case_index) continue;
      (im.term == "compute" ? comp : bw).push_back(im.value);
    }
    if (comp.empty() && bw.empty()) return std::nullopt;
    Efficiency e = base;
    if (!comp.empty()) e.compute = geomean(comp);
    if (!bw.empty()) e.bandwidth = geomean(bw);
    e.source = strprintf("calibrated on %zu pp + %zu tg measurements (pivot plan --calibrate)",
                         comp.size(), bw.size());
    return e;
  };
  for (const auto& c : cases) {
    if (cal.fitted.count(c.rec.backend)) continue;
    if (auto e = fit(c.rec.backend, std::nullopt, catalog.efficiency(c.chip)))
      cal.fitted[c.rec.backend] = *e;
  }
  for (const auto& im : implied)
    if (im.value > 1)
      cal.notes.push_back(strprintf(
          "%s: %s implies %s efficiency %.2f > 1: the catalog's peak is "
          "too low for this case (e.g. caches)",
          cases[im.case_index].rec.path.c_str(), im.phase.c_str(), im.term.c_str(), im.value));

  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const Efficiency e0 = catalog.efficiency(c.chip);
    for (const char* phase : {"pp", "tg"}) {
      const BenchPhase& b = std::string(phase) == "pp" ? c.rec.pp : c.rec.tg;
      if (b.tokens_per_s <= 0) continue;
      CalibrationRow row;
      row.file = c.rec.path;
      row.phase = phase;
      row.chip = c.chip.id == "host" ? c.chip.name : c.chip.id;
      row.model = c.model.id;
      row.measured_tps = b.tokens_per_s;
      Predicted before = predict(c, phase, e0);
      row.bound = before.bound;
      row.predicted_before_tps = before.tps;
      row.error_before = (before.tps - b.tokens_per_s) / b.tokens_per_s;
      auto it = cal.fitted.find(c.rec.backend);
      if (it != cal.fitted.end()) {
        row.predicted_after_tps = predict(c, phase, it->second).tps;
        row.error_after = (row.predicted_after_tps - b.tokens_per_s) / b.tokens_per_s;
      }
      if (auto loo = fit(c.rec.backend, i, e0)) {
        bool same_term_left = false;  // the leave-one-out fit must still cover this term
        for (const auto& im : implied)
          if (im.case_index != i && cases[im.case_index].rec.backend == c.rec.backend &&
              im.phase == phase)
            same_term_left = true;
        if (same_term_left) {
          row.loo_predicted_tps = predict(c, phase, *loo).tps;
          row.error_loo = (row.loo_predicted_tps - b.tokens_per_s) / b.tokens_per_s;
        }
      }
      cal.rows.push_back(row);
    }
  }
  for (const auto& [backend, n] : cal.n_pp)
    if (n < 2)
      cal.notes.push_back("backend " + backend +
                          ": one pp file, so its after-calibration error is 0 by "
                          "construction; add files for a leave-one-out error");
  return cal;
}

}  // namespace pivot::plan
