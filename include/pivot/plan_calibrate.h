// Fitting the planner's efficiency factors to `pivot bench --json` measurements
// (file format: include/pivot/plan.h), and the planner's error before and after.
//
// Per backend, prompt processing ("pp", compute-bound) fits e_compute and
// generation ("tg", memory-bound) fits e_bandwidth: each measurement implies
//   e_implied = e_default · t_predicted(e_default) / t_measured
// for the term that bounds it (the roofline max makes the time inversely
// proportional to that efficiency while it stays the bound), and the fit is the
// geometric mean over files. With two or more files per backend and phase the
// report also gives the leave-one-out error, the honest one; with one file the
// "after" error is zero by construction and is labelled so.
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
  std::string machine_json;  // the "machine" object as text ("" if absent)
  std::string chip;          // machine.chip ("" if absent)
};

// Parses one bench file; errors name the file and field.
BenchRecord parse_bench_json(const std::string& text, const std::string& label);

struct CalibrationRow {
  std::string file, phase;  // phase: "pp" | "tg"
  std::string chip, model, bound;
  double measured_tps = 0;
  double predicted_before_tps = kUnknown, predicted_after_tps = kUnknown;
  double loo_predicted_tps = kUnknown;  // fitted without this file
  double error_before = kUnknown, error_after = kUnknown, error_loo = kUnknown;  // (pred-meas)/meas
};

struct Calibration {
  std::map<std::string, Efficiency> fitted;  // by backend
  std::map<std::string, int> n_pp, n_tg;     // files per backend and phase
  std::vector<CalibrationRow> rows;
  std::vector<std::string> notes;
};

// `presets_path` resolves preset model names in the files.
Calibration calibrate(const std::vector<BenchRecord>& records, const Catalog& catalog,
                      const std::string& presets_path);

}  // namespace pivot::plan
