// Fitting the planner's efficiency factors to `pivot bench --json` measurements
// (file format: include/pivot/plan.h), and the planner's error before and after.
//
// Factors are fitted per group: the backend, and for "cpu" the thread count too
// ("cpu/2t"), since a CPU at N threads is a different machine (cores, bandwidth,
// synchronisation) and bench files record the threads they ran on. Per op class:
//  - prefill ("pp", compute-bound): t = F_matmul / (peak · e_compute) +
//    F_attention / (peak · e_attention), a least-squares fit of 1/e_compute and
//    1/e_attention minimising the relative time error (with under three files, or
//    when the two are not separable, one factor for both: the geometric mean);
//  - decode ("tg"): one factor s = geomean(measured / predicted at the defaults)
//    scales both roofline terms (e_decode_compute and e_bandwidth), so the step
//    time scales by exactly 1/s whichever term bounds it.
// Roofline model: Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009.
// With two or more files per group and phase the report also gives the
// leave-one-out error, the honest one; with one file the "after" error is zero by
// construction and is labelled so.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pivot/plan.h"

namespace pivot::plan {

struct BenchPhase {
  int64_t n_tokens = 0;
  double tokens_per_s = 0;
  int64_t n_ctx_start = 0;
};

struct BenchRecord {
  std::string path, backend, model, weight_type;
  int threads = 0;
  BenchPhase pp, tg;
  std::string machine_json;     // the "machine" object as text ("" if absent)
  std::string plan_model_json;  // the "plan_model" object as text ("" if absent: resolve model)
  std::string chip;             // machine.chip ("" if absent)
};

// Parses one bench file; errors name the file and field.
BenchRecord parse_bench_json(const std::string& text, const std::string& label);

struct CalibrationRow {
  std::string file, phase;  // phase: "pp" | "tg"
  std::string group;        // calibration_group() of the file
  std::string chip, model, bound;
  double measured_tps = 0;
  double predicted_before_tps = kUnknown, predicted_after_tps = kUnknown;
  double loo_predicted_tps = kUnknown;  // fitted without this file
  double error_before = kUnknown, error_after = kUnknown, error_loo = kUnknown;  // (pred-meas)/meas
};

// "cpu/2t" for the cpu backend at 2 threads; the backend name otherwise; then the
// weight class when known ("cpu/2t/Q4_K_M"): kernels differ per block type (the
// unpacking work per weight), so each file type gets its own factors.
std::string calibration_group(const std::string& backend, int threads,
                              const std::string& weight_type = "");

struct Calibration {
  std::map<std::string, Efficiency> fitted;  // by calibration_group()
  std::map<std::string, int> n_pp, n_tg;     // files per group and phase
  std::vector<CalibrationRow> rows;
  std::vector<std::string> notes;

  // The fit for `backend` at `threads` (0: any) and weight type (a name such as
  // "Q4_K_M" or "gguf:Q4_K_M"; "": any): the exact group, else the backend's group
  // with the same weight class, then the same threads, then the most threads;
  // nullptr if none.
  const Efficiency* find(const std::string& backend, int threads = 0,
                         const std::string& weight_type = "") const;
};

// `presets_path` resolves preset model names in the files.
Calibration calibrate(const std::vector<BenchRecord>& records, const Catalog& catalog,
                      const std::string& presets_path);

}  // namespace pivot::plan
