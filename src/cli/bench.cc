// `pivot bench -m FILE [-p 512] [-n 128] [-t THREADS] [-r REPS] [--json]`:
// prompt processing (pp) and generation (tg) speed, like llama-bench: pp runs
// P prompt tokens from an empty cache in one forward pass per batch; tg runs N
// single-token decode steps from an empty cache. Each is repeated REPS times
// after one warm-up; mean ± sample standard deviation of tokens/s.
//
// The memory bandwidth is measured in the same run: for host backends the read
// bandwidth (all threads summing a 512 MiB buffer, best of 5); for device backends
// (--device cuda) the device-to-device copy bandwidth the backend measures at
// creation (DeviceProps::copy_bandwidth_Bps, bytes read + written). Decode is
// reported as a fraction of the roofline limit bandwidth ÷ (weight bytes per token).
// --parallel B adds batched decode (tgN xB): B sequences advanced together by
// Model::forward_batch, one token each per step; tokens/s counts all B.
// --json writes the calibration format documented in include/pivot/plan.h.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "pivot/backend.h"
#include "pivot/error.h"
#include "pivot/gguf.h"
#include "pivot/model.h"
#include "pivot/paged_kv_cache.h"
#include "pivot/plan_model.h"
#include "session.h"

namespace pivot::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  double mean = 0, sd = 0;
  std::vector<double> samples;
};

Stats stats(std::vector<double> v) {
  Stats s;
  s.samples = v;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(ss / (v.size() - 1));
  }
  return s;
}

// Best-of-5 read bandwidth in bytes/s with n_threads threads over a 512 MiB buffer
// of a host-visible backend's weight memory (the cpu backend's is on transparent
// huge pages, src/backend/host_memory.h): where the weights live, so the limit is
// not lowered by TLB misses the weights themselves do not have.
double read_bandwidth(Backend& backend, int n_threads) {
  const size_t n = (512u << 20) / sizeof(uint64_t);
  Buffer mem = backend.allocate(n * sizeof(uint64_t), MemKind::kWeight);
  auto* buf = static_cast<uint64_t*>(mem.data());
  for (size_t i = 0; i < n; ++i) buf[i] = i;
  double best = 0;
  std::vector<uint64_t> sums(static_cast<size_t>(n_threads));
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = Clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < n_threads; ++t)
      ts.emplace_back([&, t] {
        size_t lo = n * t / n_threads, hi = n * (t + 1) / n_threads;
        uint64_t a = 0, b = 0, c = 0, d = 0;
        for (size_t i = lo; i + 4 <= hi; i += 4) {
          a += buf[i];
          b += buf[i + 1];
          c += buf[i + 2];
          d += buf[i + 3];
        }
        sums[static_cast<size_t>(t)] = a + b + c + d;
      });
    for (auto& th : ts) th.join();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, n * sizeof(uint64_t) / s);
  }
  const uint64_t total = std::accumulate(sums.begin(), sums.end(), uint64_t{0});
  asm volatile("" : : "r"(total) : "memory");  // keeps the reads from being optimised away
  return best;
}

// Weight bytes one decode step reads: every tensor except the embedding table, of
// which only one row is read (unless the output projection reuses it).
double decode_bytes_per_token(const GgufFile& f, const ModelSpec& spec) {
  double bytes = 0;
  for (const auto& t : f.tensors()) {
    if (t.name == "token_embd.weight" && !spec.tied_output)
      bytes += static_cast<double>(t.n_bytes) / static_cast<double>(t.ne[1]);
    else
      bytes += static_cast<double>(t.n_bytes);
  }
  return bytes;
}

nlohmann::ordered_json machine_info(int n_threads, double bw) {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model, flags;
  double mhz = 0;
  while (std::getline(in, line)) {
    auto val = [&] { return line.substr(line.find(':') + 2); };
    if (model.empty() && line.rfind("model name", 0) == 0) model = val();
    if (flags.empty() && line.rfind("flags", 0) == 0) flags = " " + val() + " ";
    if (mhz == 0 && line.rfind("cpu MHz", 0) == 0) mhz = std::atof(val().c_str());
  }
  uint64_t mem_kb = 0;
  std::ifstream mi("/proc/meminfo");
  while (std::getline(mi, line))
    if (line.rfind("MemTotal:", 0) == 0) mem_kb = std::strtoull(line.c_str() + 9, nullptr, 10);
  auto has = [&](const char* f) {
    return flags.find(std::string(" ") + f + " ") != std::string::npos;
  };
  return {{"cpu_model", model},
          {"n_cpus", std::thread::hardware_concurrency()},
          {"threads", n_threads},
          {"cpu_mhz", mhz},
          {"avx2", has("avx2")},
          {"fma", has("fma")},
          {"avx512f", has("avx512f")},
          {"avx512_vnni", has("avx512_vnni")},
          {"mem_total_bytes", mem_kb * 1024},
          {"mem_bw_gbs", bw > 0 ? nlohmann::ordered_json(bw / 1e9)
                                : nlohmann::ordered_json()}};  // null: not measured
}

struct Opts {
  std::string model, backend = "cpu", device;
  int64_t n_prompt = 512, n_gen = 128;
  int threads = 0, reps = 5, parallel = 1;
  ActivationType activations = ActivationType::kQ8;
  bool json = false, no_bandwidth = false;
};

void run_bench(const Opts& o) {
  if (o.n_prompt < 0 || o.n_gen < 0 || o.reps < 1) fail("bench: -p and -n must be >= 0, -r >= 1");
  int threads = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  GgufFile file = GgufFile::open(o.model);
  BackendOptions bo;
  bo.n_threads = threads;
  bo.activations = o.activations;
  bo.measure_bandwidth = !o.no_bandwidth;
  std::string backend_name = o.backend;
  if (!o.device.empty()) parse_device(o.device, &backend_name, &bo.device);
  auto backend = create_backend(backend_name, bo);
  const DeviceProps props = backend->props();
  auto model = load_model(file, *backend);
  const ModelSpec& spec = model->spec();
  int64_t n_ctx = std::max<int64_t>({o.n_prompt, o.n_gen, 1});
  KvCache kv(*backend, spec, n_ctx);
  std::vector<float> logits(static_cast<size_t>(spec.n_vocab));
  std::mt19937 rng(42);
  std::vector<TokenId> prompt(static_cast<size_t>(o.n_prompt));
  for (auto& t : prompt) t = static_cast<TokenId>(rng() % static_cast<uint32_t>(spec.n_vocab));

  auto time_pp = [&] {
    kv.n_past = 0;
    auto t0 = Clock::now();
    model->forward(prompt, kv, Logits::kLast, logits.data());
    backend->synchronize();
    return o.n_prompt / std::chrono::duration<double>(Clock::now() - t0).count();
  };
  auto time_tg = [&] {
    kv.n_past = 0;
    TokenId tok = 1;
    auto t0 = Clock::now();
    for (int64_t i = 0; i < o.n_gen; ++i) {
      model->forward(std::span<const TokenId>(&tok, 1), kv, Logits::kLast, logits.data());
      tok = static_cast<TokenId>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    backend->synchronize();
    return o.n_gen / std::chrono::duration<double>(Clock::now() - t0).count();
  };
  std::vector<double> pp, tg;
  if (o.n_prompt > 0) {
    time_pp();  // warm-up
    for (int r = 0; r < o.reps; ++r) pp.push_back(time_pp());
  }
  if (o.n_gen > 0) {
    time_tg();
    for (int r = 0; r < o.reps; ++r) tg.push_back(time_tg());
  }
  std::vector<double> tgb;  // --parallel: B sequences decoded together
  if (o.parallel > 1 && o.n_gen > 0) {
    const int64_t B = o.parallel;
    if (model->max_batch() < B)
      fail("bench: --parallel %lld exceeds the model's batch size %lld", static_cast<long long>(B),
           static_cast<long long>(model->max_batch()));
    PagedKvCache pkv(*backend, spec, B * (o.n_gen / PagedKvCache::kDefaultBlockSize + 1));
    std::vector<KvSeq> seqs(static_cast<size_t>(B));
    std::vector<TokenId> toks(static_cast<size_t>(B));
    std::vector<float> out(static_cast<size_t>(B * spec.n_vocab));
    auto time_batch = [&] {
      std::vector<SeqChunk> batch;
      for (int64_t i = 0; i < B; ++i) {
        KvSeq& sq = seqs[static_cast<size_t>(i)];
        pkv.release(sq);
        if (!pkv.reserve(sq, o.n_gen)) fail("bench: the paged KV cache is too small");
        toks[static_cast<size_t>(i)] = static_cast<TokenId>(1 + i);
        batch.push_back(
            {std::span<const TokenId>(&toks[static_cast<size_t>(i)], 1), &sq, Logits::kLast});
      }
      auto t0 = Clock::now();
      for (int64_t step = 0; step < o.n_gen; ++step) {
        model->forward_batch(batch, pkv, out.data());
        for (int64_t i = 0; i < B; ++i) {
          const float* row = out.data() + i * spec.n_vocab;
          toks[static_cast<size_t>(i)] =
              static_cast<TokenId>(std::max_element(row, row + spec.n_vocab) - row);
        }
      }
      backend->synchronize();
      return B * o.n_gen / std::chrono::duration<double>(Clock::now() - t0).count();
    };
    time_batch();
    for (int r = 0; r < o.reps; ++r) tgb.push_back(time_batch());
  }
  double bw = 0;
  if (!o.no_bandwidth)
    bw = props.host_visible ? read_bandwidth(*backend, threads) : props.copy_bandwidth_Bps;
  const char* bw_what =
      props.host_visible ? "memory read bandwidth" : "device-to-device copy bandwidth";
  double bytes_tok = decode_bytes_per_token(file, spec);
  double limit = bw > 0 ? bw / bytes_tok : 0;

  std::string weight_type = gguf_file_type_name(file);
  if (o.json) {
    nlohmann::ordered_json j;
    j["backend"] = backend_name;
    j["device"] = props.name;
    j["model"] = o.model;
    j["model_name"] = spec.name;
    j["weight_type"] = weight_type;
    j["threads"] = threads;
    j["activations"] = o.activations == ActivationType::kQ8 ? "q8" : "f32";
    j["reps"] = o.reps;
    if (!pp.empty()) {
      Stats s = stats(pp);
      j["pp"] = {
          {"n_tokens", o.n_prompt}, {"tokens_per_s", s.mean}, {"sd", s.sd}, {"samples", s.samples}};
    }
    if (!tg.empty()) {
      Stats s = stats(tg);
      j["tg"] = {{"n_tokens", o.n_gen},
                 {"tokens_per_s", s.mean},
                 {"sd", s.sd},
                 {"samples", s.samples},
                 {"n_ctx_start", 0},
                 {"bytes_per_token", bytes_tok},
                 {"bandwidth_limit_tokens_per_s", limit}};
    }
    if (!tgb.empty()) {
      Stats s = stats(tgb);
      j["tg_batch"] = {{"n_tokens", o.n_gen},
                       {"n_parallel", o.parallel},
                       {"tokens_per_s", s.mean},
                       {"sd", s.sd},
                       {"samples", s.samples}};
    }
    j["plan_model"] = nlohmann::ordered_json::parse(plan::PlanModel::from_gguf(file).to_json());
    j["machine"] = machine_info(threads, props.host_visible ? bw : 0);
    if (!props.host_visible)
      j["accelerator"] = {{"name", props.name},
                          {"vendor", props.vendor},
                          {"memory_bytes", props.memory_bytes},
                          {"peak_bw_gbs", props.bandwidth_Bps / 1e9},
                          {"copy_bw_gbs", bw / 1e9}};
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("| %-32s | %-7s | %7s | %-7s | %18s |\n", "model", "backend", "threads", "test",
              "t/s");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(34, '-').c_str(), std::string(9, '-').c_str(),
              std::string(9, '-').c_str(), std::string(9, '-').c_str(),
              std::string(20, '-').c_str());
  std::string label = spec.name.substr(0, 24) + " " + weight_type;
  auto row = [&](const char* test, int64_t n, const std::vector<double>& v) {
    Stats s = stats(v);
    std::string t = test + std::to_string(n);
    std::printf("| %-32s | %-7s | %7d | %-7s | %10.2f ± %5.2f |\n", label.c_str(),
                backend_name.c_str(), threads, t.c_str(), s.mean, s.sd);
  };
  if (!pp.empty()) row("pp", o.n_prompt, pp);
  if (!tg.empty()) row("tg", o.n_gen, tg);
  if (!tgb.empty()) row(("x" + std::to_string(o.parallel) + " tg").c_str(), o.n_gen, tgb);
  if (bw > 0 && !tg.empty())
    std::printf(
        "\n%s %.2f GB/s (%s); decode reads %.1f MB/token -> limit %.1f tokens/s; tg at %.0f%% "
        "of the limit\n",
        bw_what, bw / 1e9, props.name.c_str(), bytes_tok / 1e6, limit,
        100 * stats(tg).mean / limit);
}

}  // namespace

void register_bench(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure prompt processing and generation speed");
  cmd->add_option("-m,--model", o->model, "GGUF model file")->required();
  cmd->add_option("-p,--n-prompt", o->n_prompt, "prompt tokens (0: skip pp)")
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", o->n_gen, "generated tokens (0: skip tg)")->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "threads (0: all cores)")->capture_default_str();
  add_activations_option(cmd, o->activations);
  cmd->add_option("-r,--repetitions", o->reps, "timed repetitions")->capture_default_str();
  cmd->add_option("--parallel", o->parallel,
                  "also decode this many sequences together (batched tg, forward_batch)")
      ->capture_default_str();
  cmd->add_option("--backend", o->backend, "backend (cpu, reference, ...)")->capture_default_str();
  cmd->add_option("--device", o->device, "device: cpu, cuda, cuda:N (overrides --backend)");
  cmd->add_flag("--json", o->json, "JSON output (the calibration format of pivot plan)");
  cmd->add_flag("--no-bandwidth", o->no_bandwidth, "skip the memory bandwidth measurement");
  cmd->callback([o, &exit_code] {
    run_bench(*o);
    exit_code = 0;
  });
}

}  // namespace pivot::cli
