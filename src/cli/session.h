// What `pivot run` and `pivot chat` share: model/backend/sampling options and a
// loaded Session (file, backend, tokenizer, model, KV cache), plus the speed line.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "pivot/backend.h"
#include "pivot/generate.h"
#include "pivot/gguf.h"
#include "pivot/kv_cache.h"
#include "pivot/model.h"
#include "pivot/sampler.h"
#include "pivot/tokenizer.h"

namespace pivot::cli {

struct SessionOptions {
  std::string model;
  std::string backend = "cpu";
  std::string device;  // --device NAME[:N]; when set, overrides `backend`
  int threads = 0;     // 0: all cores
  ActivationType activations = ActivationType::kQ8;  // --activations
  int64_t ctx_size = 0;                              // 0: min(4096, the model's training context)
  int64_t batch_size = 256;                          // prompt tokens per forward step
  SamplerParams sampling;
  bool seed_given = false;
};

// --device syntax: NAME or NAME:N ("cpu", "cuda", "cuda:1") -> backend name and
// device index. Throws pivot::Error naming a malformed index.
void parse_device(const std::string& spec, std::string* backend, int* index);

// --activations q8|f32 (BackendOptions::activations), shared by run, chat, bench,
// logits and serve.
void add_activations_option(CLI::App* cmd, ActivationType& a);

// -m, --backend, --device, -t, -c, -b, --activations and the sampling flags.
void add_session_options(CLI::App* cmd, SessionOptions& o);

struct Session {
  GgufFile file;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<Model> model;
  std::unique_ptr<KvCache> kv;
  double load_s = 0;
};

// Loads everything and prints one "load" line to stderr. Picks a random seed
// (and prints it) unless --seed was given.
std::unique_ptr<Session> open_session(SessionOptions& o);

// "pivot: prompt N tokens in S s (R tokens/s) | generated ..." to stderr.
void print_speed(const GenerateStats& st);

}  // namespace pivot::cli
