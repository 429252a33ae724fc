// A catalog row for the machine pivot runs on: /proc/cpuinfo and /proc/meminfo,
// plus the bandwidth measured by bench/stream.sh (which cannot be read from /proc).
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "pivot/error.h"
#include "pivot/plan_catalog.h"

namespace pivot::plan {
namespace {

using json = nlohmann::json;

struct CpuInfo {
  std::string model;
  int n_cpus = 0;
  double mhz = 0;
  std::string flags;
  double mem_bytes = 0;
};

std::string after_colon(const std::string& line) {
  size_t p = line.find(':');
  if (p == std::string::npos) return "";
  size_t b = line.find_first_not_of(" \t", p + 1);
  return b == std::string::npos ? "" : line.substr(b);
}

CpuInfo read_proc() {
  CpuInfo c;
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("processor", 0) == 0) ++c.n_cpus;
    if (c.model.empty() && line.rfind("model name", 0) == 0) c.model = after_colon(line);
    if (c.mhz == 0 && line.rfind("cpu MHz", 0) == 0) c.mhz = std::atof(after_colon(line).c_str());
    if (c.flags.empty() && (line.rfind("flags", 0) == 0 || line.rfind("Features", 0) == 0))
      c.flags = " " + after_colon(line) + " ";
  }
  if (c.n_cpus == 0) c.n_cpus = int(std::thread::hardware_concurrency());
  std::ifstream m("/proc/meminfo");
  while (std::getline(m, line))
    if (line.rfind("MemTotal", 0) == 0) c.mem_bytes = std::atof(after_colon(line).c_str()) * 1024;
  return c;
}

bool has_flag(const CpuInfo& c, const char* f) {
  return c.flags.find(std::string(" ") + f + " ") != std::string::npos;
}

}  // namespace

Accelerator host_accelerator(const std::string& machine_json) {
  CpuInfo c = read_proc();
  json m = json::object();
  if (!machine_json.empty()) {
    try {
      m = json::parse(machine_json);
    } catch (const json::exception& e) {
      fail("machine file: not valid JSON: %s", e.what());
    }
    if (m.contains("machine") && m["machine"].is_object()) m = m["machine"];  // a bench file
  }
  auto num = [&](const char* key) -> std::optional<double> {
    if (!m.contains(key) || m[key].is_null()) return std::nullopt;
    if (!m[key].is_number()) fail("machine file: field '%s': expected a number", key);
    const double v = m[key].get<double>();
    if (!(v > 0) || !std::isfinite(v))
      fail("machine file: field '%s': expected a number > 0, got %g", key, v);
    return v;
  };

  auto flag = [&](const char* key, const char* proc_flag) {
    return m.contains(key) && m[key].is_boolean() ? m[key].get<bool>() : has_flag(c, proc_flag);
  };
  Accelerator a;
  a.id = "host";
  a.aliases = {"this-host"};
  a.kind = "cpu";
  a.backend = "cpu";
  a.efficiency_class = "cpu_measured";
  a.vendor = "host";
  a.name = m.value("cpu_model", c.model.empty() ? std::string("unknown CPU") : c.model);
  // A bench run on fewer threads than CPUs can only use that many cores.
  const double cpus = num("threads").value_or(num("n_cpus").value_or(c.n_cpus));
  const double mhz = num("cpu_mhz").value_or(c.mhz);
  // FP32 FLOP per cycle per core: two FMA pipes of 256 (AVX2) or 512 (AVX-512) bits.
  double flop_per_cycle = 0;
  if (flag("avx2", "avx2") && flag("fma", "fma")) flop_per_cycle = 32;
  if (flag("avx512f", "avx512f")) flop_per_cycle = 64;
  if (flop_per_cycle > 0 && mhz > 0) a.fp32_tflops = cpus * mhz * 1e6 * flop_per_cycle / 1e12;
  if (auto b = num("mem_total_bytes"))
    a.mem_gb = *b / double(1ull << 30);
  else if (c.mem_bytes > 0)
    a.mem_gb = c.mem_bytes / double(1ull << 30);
  a.mem_bw_gbs = num("mem_bw_gbs");
  a.scale_up_devices = 1;
  a.software = "pivot cpu backend";
  a.confidence_level = a.mem_bw_gbs ? "measured" : "derived";
  a.confidence = strprintf(
      "derived at run time: fp32 = %.0f cores x %.0f MHz x %.0f FLOP/cycle (/proc/cpuinfo); "
      "memory bandwidth %s",
      cpus, mhz, flop_per_cycle,
      a.mem_bw_gbs ? "from the machine file (bench/stream.sh triad)"
                   : "unknown: run bench/stream.sh > m.json and pass --machine m.json");
  a.sources = {"/proc/cpuinfo", "/proc/meminfo"};
  if (a.mem_bw_gbs) a.sources.push_back("bench/stream.sh");
  return a;
}

}  // namespace pivot::plan
