// `pivot logits -m FILE --tokens IN --out OUT`: teacher-forced logits dump for the
// golden tests (tests/py/test_generation_golden.py). IN: raw little-endian int32
// token ids; OUT: raw float32 [n_tokens][n_vocab], the logits after each token.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "commands.h"
#include "pivot/backend.h"
#include "pivot/error.h"
#include "pivot/gguf.h"
#include "pivot/model.h"
#include "session.h"

namespace pivot::cli {

void register_logits(CLI::App& app, int& exit_code) {
  struct Opts {
    std::string model, tokens, out, backend = "reference";
    int threads = 0;
    ActivationType activations = ActivationType::kQ8;
    int64_t batch = 256;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("logits", "dump teacher-forced logits (for tests)");
  cmd->group("");  // hidden from --help: a test tool
  cmd->add_option("-m,--model", o->model, "GGUF file")->required();
  cmd->add_option("--tokens", o->tokens, "input: raw int32 token ids")->required();
  cmd->add_option("--out", o->out, "output: raw float32 [n_tokens][n_vocab]")->required();
  cmd->add_option("--backend", o->backend, "backend");
  cmd->add_option("-t,--threads", o->threads, "threads (0: all cores)");
  add_activations_option(cmd, o->activations);
  cmd->add_option("-b,--batch-size", o->batch, "tokens per forward step");
  cmd->callback([o, &exit_code] {
    std::ifstream in(o->tokens, std::ios::binary);
    if (!in) fail("cannot read %s", o->tokens.c_str());
    std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<TokenId> ids(raw.size() / 4);
    std::memcpy(ids.data(), raw.data(), ids.size() * 4);

    const auto t0 = std::chrono::steady_clock::now();
    GgufFile file = GgufFile::open(o->model);
    BackendOptions bo;
    bo.n_threads = o->threads;
    bo.activations = o->activations;
    auto backend = create_backend(o->backend, bo);
    ModelOptions mo;
    mo.n_batch = o->batch;
    auto model = load_model(file, *backend, mo);
    KvCache kv(*backend, model->spec(), static_cast<int64_t>(ids.size()));
    std::vector<float> logits(ids.size() * static_cast<size_t>(model->spec().n_vocab));
    const auto t1 = std::chrono::steady_clock::now();
    model->forward(ids, kv, Logits::kAll, logits.data());
    const auto t2 = std::chrono::steady_clock::now();
    std::ofstream out(o->out, std::ios::binary);
    out.write(reinterpret_cast<const char*>(logits.data()),
              static_cast<std::streamsize>(logits.size() * sizeof(float)));
    if (!out) fail("cannot write %s", o->out.c_str());
    const double s = std::chrono::duration<double>(t2 - t1).count();
    std::fprintf(stderr, "logits: %zu tokens on %s in %.2f s (%.1f tokens/s), load %.2f s\n",
                 ids.size(), o->backend.c_str(), s, ids.size() / s,
                 std::chrono::duration<double>(t1 - t0).count());
    exit_code = 0;
  });
}

}  // namespace pivot::cli
