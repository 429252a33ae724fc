// Efficiency factors fitted to bench measurements. Method: include/pivot/plan_calibrate.h.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>
#include <vector>

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

PlanInputs pp_inputs(const Case& c) {
  PlanInputs in = c.in;
  in.prompt = std::max<int64_t>(1, c.rec.pp.n_tokens);
  in.output = 0;
  return in;
}

Predicted predict(const Case& c, const std::string& phase, const Efficiency& eff) {
  const BenchPhase& b = phase == "pp" ? c.rec.pp : c.rec.tg;
  Predicted out;
  if (phase == "pp") {
    const PlanInputs in = pp_inputs(c);
    Plan p = make_plan(c.model, c.chip, eff, in);
    out.time_s = p.prefill.time_s;
    out.tps = double(in.prompt) / out.time_s;
    out.bound = p.prefill.bound;
  } else {
    PlanInputs in = c.in;
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
  if (j.contains("plan_model")) {
    if (!j["plan_model"].is_object())
      fail("%s: field 'plan_model': expected an object", label.c_str());
    r.plan_model_json = j["plan_model"].dump();
  }
  if (j.contains("machine")) {
    if (!j["machine"].is_object()) fail("%s: field 'machine': expected an object", label.c_str());
    r.machine_json = j["machine"].dump();
    if (j["machine"].contains("chip") && j["machine"]["chip"].is_string())
      r.chip = j["machine"]["chip"].get<std::string>();
  }
  return r;
}

std::string weight_class(const std::string& weight_type) {
  return weight_type.rfind("gguf:", 0) == 0 ? weight_type.substr(5) : weight_type;
}

std::string calibration_group(const std::string& backend, int threads,
                              const std::string& weight_type) {
  std::string g = backend == "cpu" && threads > 0 ? strprintf("cpu/%dt", threads) : backend;
  const std::string w = weight_class(weight_type);
  return w.empty() ? g : g + "/" + w;
}

const Efficiency* Calibration::find(const std::string& backend, int threads,
                                    const std::string& weight_type) const {
  auto it = fitted.find(calibration_group(backend, threads, weight_type));
  if (it != fitted.end()) return &it->second;
  // Else the best of this backend's groups: same weight class first, then same
  // threads, then the most threads.
  const std::string want_w = weight_class(weight_type);
  const Efficiency* best = nullptr;
  std::tuple<int, int, int> best_score{-1, -1, -1};
  for (const auto& [group, e] : fitted) {
    if (group.rfind(backend, 0) != 0) continue;
    if (group.size() != backend.size() && group[backend.size()] != '/') continue;
    std::string rest = group.substr(backend.size()), w;
    int t = 0;
    if (!rest.empty()) rest = rest.substr(1);  // after the '/'
    if (backend == "cpu" && !rest.empty() && std::isdigit(static_cast<unsigned char>(rest[0]))) {
      t = std::atoi(rest.c_str());
      const size_t slash = rest.find('/');
      w = slash == std::string::npos ? "" : rest.substr(slash + 1);
    } else {
      w = rest;
    }
    std::tuple<int, int, int> score{!want_w.empty() && w == want_w, threads > 0 && t == threads, t};
    if (score > best_score) best = &e, best_score = score;
  }
  return best;
}

namespace {

// One file's phase as the fit sees it: times in seconds at efficiency 1.
struct Sample {
  size_t case_index;
  std::string phase;            // "pp" | "tg"
  double measured_s;            // per step (pp: the whole prompt; tg: one token)
  double mm_s = 0, attn_s = 0;  // pp: matmul / attention compute time at efficiency 1
  double prep_s = 0;            // pp: weight preparation time at 1 ns per parameter
  double scale = 0;             // tg: measured tokens/s ÷ predicted at the defaults
};

// Least squares on the relative error: minimise Σ(Σ_k c_k·col_k / measured − 1)² over
// the columns in `use` (normal equations, at most 3x3). nullopt if singular.
std::optional<std::vector<double>> lsq(const std::vector<std::vector<double>>& cols,
                                       const std::vector<int>& use) {
  const size_t n = use.size();
  std::vector<std::vector<double>> A(n, std::vector<double>(n + 1, 0));
  for (size_t r = 0; r < cols[0].size(); ++r)
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) A[i][j] += cols[use[i]][r] * cols[use[j]][r];
      A[i][n] += cols[use[i]][r];
    }
  for (size_t i = 0; i < n; ++i) {  // Gauss-Jordan with partial pivoting
    size_t piv = i;
    for (size_t k = i + 1; k < n; ++k)
      if (std::fabs(A[k][i]) > std::fabs(A[piv][i])) piv = k;
    std::swap(A[i], A[piv]);
    if (std::fabs(A[i][i]) < 1e-9 * std::fabs(A[0][0])) return std::nullopt;
    for (size_t k = 0; k < n; ++k)
      if (k != i) {
        const double f = A[k][i] / A[i][i];
        for (size_t j = i; j <= n; ++j) A[k][j] -= f * A[i][j];
      }
  }
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = A[i][n] / A[i][i];
  return x;
}

struct PrefillFit {
  double compute, attention, weight_ns;
};

// pp: t = a·mm + b·attn + c·prep, with a = 1/e_matmul, b = 1/e_attention and c the
// weight preparation in ns per parameter, fitted by least squares on the relative
// time error. Every subset of {b, c} beside a is tried (a term left out: b = a, or
// c = 0) and the valid fit (coefficients > 0, efficiencies <= 1) with the least
// squared error wins;
// with under three samples, or none valid, one factor for all (geometric mean).
PrefillFit fit_prefill(const std::vector<const Sample*>& s) {
  std::vector<std::vector<double>> cols(4);  // mm, attn, prep, mm + attn
  for (const Sample* p : s) {
    cols[0].push_back(p->mm_s / p->measured_s);
    cols[1].push_back(p->attn_s / p->measured_s);
    cols[2].push_back(p->prep_s / p->measured_s);
    cols[3].push_back((p->mm_s + p->attn_s) / p->measured_s);
  }
  std::optional<PrefillFit> best;
  double best_err = 0;
  if (s.size() >= 3)
    for (const std::vector<int>& use : {std::vector<int>{0, 1, 2}, {0, 1}, {3, 2}}) {
      if (use.size() > s.size()) continue;
      auto x = lsq(cols, use);
      if (!x || std::any_of(x->begin(), x->end(), [](double v) { return !(v > 0); })) continue;
      PrefillFit f{1 / (*x)[0], use[1] == 1 ? 1 / (*x)[1] : 1 / (*x)[0], 0};
      if (f.compute > 1 || f.attention > 1) continue;  // above peak: not a physical fit
      if (use.back() == 2) f.weight_ns = x->back();
      double err = 0;
      for (size_t r = 0; r < s.size(); ++r) {
        double pred = 0;
        for (size_t k = 0; k < use.size(); ++k) pred += (*x)[k] * cols[use[k]][r];
        err += (pred - 1) * (pred - 1);
      }
      if (!best || err < best_err) best = f, best_err = err;
    }
  if (best) return *best;
  std::vector<double> implied;
  for (const Sample* p : s) implied.push_back((p->mm_s + p->attn_s) / p->measured_s);
  const double e = geomean(implied);
  return {e, e, 0};
}

}  // namespace

Calibration calibrate(const std::vector<BenchRecord>& records, const Catalog& catalog,
                      const std::string& presets_path) {
  Calibration cal;
  std::vector<Case> cases;
  for (const auto& r : records) {
    Case c{r,
           r.plan_model_json.empty()
               ? PlanModel::resolve(r.model, presets_path)
               : PlanModel::from_json(r.plan_model_json, r.path + ": field 'plan_model'"),
           {},
           {}};
    if (!r.chip.empty())
      c.chip = catalog.find(r.chip);
    else if (r.backend == "cpu")
      c.chip = host_accelerator(r.machine_json);
    else
      fail("%s: backend '%s' needs machine.chip (a catalog id)", r.path.c_str(), r.backend.c_str());
    // A model described by its GGUF file has exact per-tensor bytes: the measured
    // file's own type, whatever its label (Q4_K_M mixes Q4_K, Q6_K and Q8_0).
    c.in.weight = r.weight_type.empty() || c.model.file_weight_bytes
                      ? c.model.default_weight_type()
                      : dtype_from_name(r.weight_type);
    c.in.kv = dtype_from_name("f16");  // llama.cpp's and pivot's default KV type
    cases.push_back(std::move(c));
  }
  cal.notes.push_back("KV cache planned as f16; tg context = n_ctx_start + n_tokens/2");
  auto group_of = [&](size_t i) {
    return calibration_group(
        cases[i].rec.backend, cases[i].rec.threads,
        cases[i].rec.weight_type.empty() ? cases[i].in.weight.name : cases[i].rec.weight_type);
  };

  // What each measurement says at efficiency 1 (pp) or at the defaults (tg).
  std::vector<Sample> samples;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const Efficiency e0 = catalog.efficiency(c.chip);
    if (c.rec.pp.tokens_per_s > 0) {
      Efficiency unit = e0, half_attn = e0, prep = e0;
      unit.compute = unit.attention = 1, unit.prefill_weight_ns = 0;
      half_attn = prep = unit;
      half_attn.attention = 0.5;
      prep.prefill_weight_ns = 1;
      Plan p1 = make_plan(c.model, c.chip, unit, pp_inputs(c));
      Plan p2 = make_plan(c.model, c.chip, half_attn, pp_inputs(c));
      Plan p3 = make_plan(c.model, c.chip, prep, pp_inputs(c));
      if (!known(p1.prefill.compute_s) || !known(p2.prefill.compute_s))
        fail("%s: cannot predict pp: catalog inputs missing for %s", c.rec.path.c_str(),
             c.chip.id.c_str());
      Sample s{i, "pp", double(c.rec.pp.n_tokens) / c.rec.pp.tokens_per_s};
      s.attn_s = p2.prefill.compute_s - p1.prefill.compute_s;
      s.mm_s = p1.prefill.compute_s - s.attn_s;
      s.prep_s = p3.prefill.compute_s - p1.prefill.compute_s;
      if (predict(c, "pp", e0).bound == "compute")
        samples.push_back(s);
      else
        cal.notes.push_back(c.rec.path + ": pp is not compute-bound here: not fitted");
      cal.n_pp[group_of(i)]++;
    }
    if (c.rec.tg.tokens_per_s > 0) {
      Predicted p = predict(c, "tg", e0);
      if (!known(p.tps))
        fail("%s: cannot predict tg: catalog inputs missing for %s", c.rec.path.c_str(),
             c.chip.id.c_str());
      Sample s{i, "tg", 1 / c.rec.tg.tokens_per_s};
      s.scale = c.rec.tg.tokens_per_s / p.tps;
      samples.push_back(s);
      cal.n_tg[group_of(i)]++;
    }
  }

  // The fit of one group, optionally without one file; nullopt if nothing to fit.
  auto fit = [&](const std::string& group, std::optional<size_t> leave_out,
                 const Efficiency& base) -> std::optional<Efficiency> {
    std::vector<const Sample*> pp;
    std::vector<double> tg;
    for (const Sample& s : samples) {
      if (group_of(s.case_index) != group || leave_out == s.case_index) continue;
      if (s.phase == "pp")
        pp.push_back(&s);
      else
        tg.push_back(s.scale);
    }
    if (pp.empty() && tg.empty()) return std::nullopt;
    Efficiency e = base;
    if (!pp.empty()) {
      const PrefillFit f = fit_prefill(pp);
      e.compute = f.compute, e.attention = f.attention, e.prefill_weight_ns = f.weight_ns;
    }
    if (!tg.empty()) {  // one factor on both decode terms: time scales by exactly 1/s
      const double s = geomean(tg);
      e.decode_compute = base.decode_compute_or_default() * s;
      e.bandwidth = base.bandwidth * s;
    }
    e.source = strprintf("calibrated on %zu pp + %zu tg measurements (pivot plan --calibrate)",
                         pp.size(), tg.size());
    return e;
  };
  for (size_t i = 0; i < cases.size(); ++i)
    if (!cal.fitted.count(group_of(i)))
      if (auto e = fit(group_of(i), std::nullopt, catalog.efficiency(cases[i].chip)))
        cal.fitted[group_of(i)] = *e;
  for (const auto& [group, e] : cal.fitted)
    for (auto [name, v] : {std::pair{"compute", e.compute},
                           {"attention", e.attention},
                           {"decode compute", e.decode_compute},
                           {"bandwidth", e.bandwidth}})
      if (v > 1)
        cal.notes.push_back(
            strprintf("%s: fitted %s efficiency %.2f > 1: the peak is too low "
                      "for these cases (e.g. caches)",
                      group.c_str(), name, v));

  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const Efficiency e0 = catalog.efficiency(c.chip);
    for (const char* phase : {"pp", "tg"}) {
      const BenchPhase& b = std::string(phase) == "pp" ? c.rec.pp : c.rec.tg;
      if (b.tokens_per_s <= 0) continue;
      CalibrationRow row;
      row.file = c.rec.path;
      row.phase = phase;
      row.group = group_of(i);
      row.chip = c.chip.id == "host" ? c.chip.name : c.chip.id;
      row.model = c.model.id;
      row.measured_tps = b.tokens_per_s;
      Predicted before = predict(c, phase, e0);
      row.bound = before.bound;
      row.predicted_before_tps = before.tps;
      row.error_before = (before.tps - b.tokens_per_s) / b.tokens_per_s;
      auto it = cal.fitted.find(row.group);
      if (it != cal.fitted.end()) {
        row.predicted_after_tps = predict(c, phase, it->second).tps;
        row.error_after = (row.predicted_after_tps - b.tokens_per_s) / b.tokens_per_s;
      }
      bool same_phase_left = false;  // the leave-one-out fit must still cover this phase
      for (const Sample& s : samples)
        if (s.case_index != i && group_of(s.case_index) == row.group && s.phase == phase)
          same_phase_left = true;
      if (same_phase_left)
        if (auto loo = fit(row.group, i, e0)) {
          row.loo_predicted_tps = predict(c, phase, *loo).tps;
          row.error_loo = (row.loo_predicted_tps - b.tokens_per_s) / b.tokens_per_s;
        }
      cal.rows.push_back(row);
    }
  }
  for (const auto& [group, n] : cal.n_pp)
    if (n < 2)
      cal.notes.push_back(group +
                          ": one pp file, so its after-calibration error is 0 by "
                          "construction; add files for a leave-one-out error");
  return cal;
}

}  // namespace pivot::plan
