#include "session.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>

#include "pivot/error.h"

namespace pivot::cli {

void add_activations_option(CLI::App* cmd, ActivationType& a) {
  const std::map<std::string, ActivationType> names{{"q8", ActivationType::kQ8},
                                                    {"f32", ActivationType::kF32}};
  cmd->add_option("--activations", a,
                  "activations of quantized matmuls on cpu: q8 (8-bit blocks + integer dot "
                  "products in decode, like llama.cpp; fast) or f32 (exact f32 math)")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case))
      ->option_text("q8|f32 (default: q8)");
}

void add_session_options(CLI::App* cmd, SessionOptions& o) {
  SamplerParams& s = o.sampling;
  cmd->add_option("-m,--model", o.model, "GGUF model file")->required();
  cmd->add_option(
         "--backend", o.backend,
         "backend: " +
             [] {
               std::string n;
               for (const auto& b : backend_names()) n += (n.empty() ? "" : ", ") + b;
               return n;
             }())
      ->capture_default_str();
  cmd->add_option("--device", o.device, "device: cpu, cuda, cuda:N (overrides --backend)");
  cmd->add_option("-t,--threads", o.threads, "CPU threads (0: all cores)")->capture_default_str();
  add_activations_option(cmd, o.activations);
  cmd->add_option("-c,--ctx-size", o.ctx_size, "context size in tokens (0: min(4096, model's))")
      ->capture_default_str();
  cmd->add_option("-b,--batch-size", o.batch_size, "prompt tokens per forward step")
      ->capture_default_str();
  cmd->add_option("--temp", s.temperature, "temperature (0: greedy)")->capture_default_str();
  cmd->add_option("--top-k", s.top_k, "top-k (0: off)")->capture_default_str();
  cmd->add_option("--top-p", s.top_p, "top-p (1: off)")->capture_default_str();
  cmd->add_option("--min-p", s.min_p, "min-p (0: off)")->capture_default_str();
  cmd->add_option("--repeat-penalty", s.repeat_penalty, "repetition penalty (1: off)")
      ->capture_default_str();
  cmd->add_option("--frequency-penalty", s.frequency_penalty, "frequency penalty")
      ->capture_default_str();
  cmd->add_option("--presence-penalty", s.presence_penalty, "presence penalty")
      ->capture_default_str();
  cmd->add_option("--repeat-last-n", s.penalty_last_n, "tokens the penalties look back over")
      ->capture_default_str();
  cmd->add_option_function<uint64_t>(
      "-s,--seed",
      [&o](uint64_t v) {
        o.sampling.seed = v;
        o.seed_given = true;
      },
      "random seed (default: random, printed)");
}

void parse_device(const std::string& spec, std::string* backend, int* index) {
  const size_t colon = spec.find(':');
  *backend = spec.substr(0, colon);
  *index = 0;
  if (colon == std::string::npos) return;
  const std::string n = spec.substr(colon + 1);
  char* end = nullptr;
  const long v = n.empty() ? -1 : std::strtol(n.c_str(), &end, 10);
  if (n.empty() || *end != '\0' || v < 0 || v > 1024)
    fail("--device %s: expected NAME or NAME:INDEX with INDEX a device number (e.g. cuda:0)",
         spec.c_str());
  *index = static_cast<int>(v);
}

std::unique_ptr<Session> open_session(SessionOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!o.seed_given) o.sampling.seed = std::random_device{}();
  auto s = std::unique_ptr<Session>(
      new Session{GgufFile::open(o.model), nullptr, nullptr, nullptr, nullptr, 0});
  BackendOptions bo;
  bo.n_threads = o.threads;
  bo.activations = o.activations;
  std::string backend = o.backend;
  if (!o.device.empty()) parse_device(o.device, &backend, &bo.device);
  s->backend = create_backend(backend, bo);
  s->tok = Tokenizer::from_gguf(s->file);
  ModelOptions mo;
  mo.n_batch = o.batch_size;
  s->model = load_model(s->file, *s->backend, mo);
  const ModelSpec& spec = s->model->spec();
  const int64_t n_ctx = o.ctx_size > 0 ? o.ctx_size : std::min<int64_t>(4096, spec.n_ctx_train);
  s->kv = std::make_unique<KvCache>(*s->backend, spec, n_ctx);
  s->load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr,
               "pivot: loaded %s (%s, %lld layers, %.1f MiB) on %s in %.2f s; context %lld tokens "
               "(KV cache %.1f MiB); seed %llu\n",
               spec.name.c_str(), spec.arch.c_str(), static_cast<long long>(spec.n_layer),
               s->file.file_size() / 1048576.0, s->backend->props().name.c_str(), s->load_s,
               static_cast<long long>(n_ctx), s->kv->bytes() / 1048576.0,
               static_cast<unsigned long long>(o.sampling.seed));
  return s;
}

void print_speed(const GenerateStats& st) {
  const double gen_tokens = static_cast<double>(std::max<int64_t>(st.n_generated - 1, 0));
  std::fprintf(
      stderr,
      "pivot: prompt %lld tokens in %.3f s (%.1f tokens/s); generated %lld tokens in %.3f s "
      "(%.1f tokens/s); stop: %s\n",
      static_cast<long long>(st.n_prompt), st.prompt_s,
      st.prompt_s > 0 ? st.n_prompt / st.prompt_s : 0.0, static_cast<long long>(st.n_generated),
      st.generate_s, st.generate_s > 0 ? gen_tokens / st.generate_s : 0.0,
      stop_reason_name(st.reason));
}

}  // namespace pivot::cli
