// The accelerator catalog the planner reads: data/accelerators.json.
//
// Every number is a vendor, press or analyst figure with its source and a
// confidence level (see the file's "conventions"); an unknown number is null and
// stays std::nullopt here. Units: TFLOPS / TOPS (1e12 per second, dense, no
// sparsity), memory capacity GiB, bandwidths GB/s (1e9 B/s), power W.
//
// Lookup of the file (first hit wins; errors name every path tried):
//   --catalog FILE  >  $PIVOT_DATA_DIR/accelerators.json  >
//   <exe>/../share/pivot/data/accelerators.json (installed)  >
//   the source tree's data/ (compile definition PIVOT_DATA_DIR).
// A Catalog is immutable after load and safe to share between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pivot::plan {

// Which peak rate a matmul runs at.
enum class ComputeClass { kBf16, kFp16, kFp8, kInt8, kFp32 };
const char* compute_class_name(ComputeClass c);  // "bf16", ..., the catalog field stem

struct Accelerator {
  std::string id;                    // "h100-sxm"
  std::vector<std::string> aliases;  // "h100"
  std::string vendor, name;
  std::string kind;              // "gpu" | "npu" | "cpu"
  std::string backend;           // pivot backend that runs it ("cuda", "cpu"); "" if none yet
  std::string efficiency_class;  // key of Catalog::efficiency
  std::optional<double> bf16_tflops, fp16_tflops, fp8_tflops, int8_tops, fp32_tflops;
  std::optional<double> mem_gb, mem_bw_gbs;
  std::optional<double> link_gbs;           // aggregate bidirectional, as quoted
  std::optional<double> link_per_peer_gbs;  // one direction, one peer
  std::optional<int> scale_up_devices;      // chips in one scale-up domain
  std::optional<double> tdp_w;
  std::string software, confidence_level, confidence, notes;
  std::vector<std::string> sources;

  std::optional<double> peak_tflops(ComputeClass c) const;
};

// Achieved fraction of each peak (a stated default or a calibrated value).
struct Efficiency {
  double compute = 0.5;  // of the dense matmul peak (compute-bound ops: prefill)
  // Op classes that run far from the matmul rate on young backends (0: use `compute`):
  double attention = 0;       // prefill attention (QKᵀ, softmax, PV) FLOPs
  double decode_compute = 0;  // decode-step FLOPs (matrix-vector products at small batch)
  double attention_or_default() const { return attention > 0 ? attention : compute; }
  double decode_compute_or_default() const { return decode_compute > 0 ? decode_compute : compute; }
  // Per-step weight preparation in prefill, in ns per weight parameter: engines that
  // dequantize and pack each weight panel once per step before a float GEMM (pivot's
  // cpu backend, dequantize + cuBLAS) pay it whatever the prompt length, which is why
  // short prompts run fewer tokens/s. 0: not modelled (catalog default; calibration
  // fits it when the measurements show it).
  double prefill_weight_ns = 0;
  double bandwidth = 0.8;      // of peak memory bandwidth (memory-bound ops: decode)
  double link = 0.8;           // of link_per_peer_gbs (collectives)
  double link_latency_us = 5;  // per ring step
  double train_mfu = 0.4;      // model FLOPs utilisation for training
  std::string source;          // where these numbers come from
};

class Catalog {
 public:
  // Parses and validates a catalog file; throws pivot::Error naming the row and field.
  static Catalog load(const std::string& path);
  // The lookup order in the header comment; `override_path` is --catalog ("" = none).
  static Catalog load_default(const std::string& override_path);
  // Path of a data file by the same lookup rules (model_presets.json, ...).
  static std::string find_data_file(const std::string& name, const std::string& override_dir);

  const std::string& path() const { return path_; }
  const std::vector<Accelerator>& chips() const { return chips_; }
  // By id or alias, case- and punctuation-insensitive; throws listing close names.
  const Accelerator& find(std::string_view id) const;
  Efficiency efficiency(const Accelerator& chip) const;
  void add(Accelerator chip);  // runtime rows (host CPU)

 private:
  std::string path_;
  std::vector<Accelerator> chips_;
  std::map<std::string, Efficiency> efficiency_;
};

// Up to `n` names from `names` closest to `query` (edit distance, substrings first).
std::vector<std::string> close_names(std::string_view query, const std::vector<std::string>& names,
                                     size_t n = 5);

// A row for the machine this runs on, from /proc/cpuinfo and /proc/meminfo, with
// memory bandwidth and other fields from `machine` JSON text (bench/stream.sh output,
// or the "machine" object of a bench file) when given. fp32 peak = cpus x MHz x
// FLOP/cycle (32 with AVX2+FMA, 64 with AVX-512; null otherwise).
Accelerator host_accelerator(const std::string& machine_json);

}  // namespace pivot::plan
