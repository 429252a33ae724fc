// `pivot serve -m FILE [--host H] [--port P] [--api-key K] [--parallel N]
// [--ctx-size N] [--threads N] [--device cpu|cuda[:N]]`: the OpenAI-compatible server
// (src/serve/server.h).
#include "../serve/server.h"
#include "commands.h"
#include "pivot/backend.h"
#include "session.h"

namespace pivot::cli {

void register_serve(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<serve::ServeOptions>();
  CLI::App* cmd =
      app.add_subcommand("serve", "OpenAI-compatible HTTP server with continuous batching");
  cmd->add_option("-m,--model", o->model_path, "GGUF model file")->required();
  cmd->add_option("--host", o->host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", o->port, "TCP port (0: any free port)")->capture_default_str();
  cmd->add_option("--api-key", o->api_key, "require 'Authorization: Bearer KEY' on /v1/*");
  cmd->add_option("--parallel", o->parallel, "sequences decoded together")->capture_default_str();
  cmd->add_option("-c,--ctx-size", o->ctx_size,
                  "most tokens per sequence, prompt + completion (0: min(4096, model's))")
      ->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "CPU threads (0: all cores)")->capture_default_str();
  add_activations_option(cmd, o->activations);
  cmd->add_option("-b,--batch-size", o->batch_size, "most tokens per forward step")
      ->capture_default_str();
  cmd->add_option("--kv-blocks", o->kv_blocks,
                  "KV-cache blocks of 16 tokens (0: parallel x ctx-size worth)")
      ->capture_default_str();
  cmd->add_option("--max-body", o->max_body, "largest request body, bytes (413 above)")
      ->capture_default_str();
  cmd->add_option("--backend", o->backend, "backend")->capture_default_str();
  cmd->add_option_function<std::string>(
      "--device", [o](const std::string& d) { parse_device(d, &o->backend, &o->device); },
      "device: cpu, cuda, cuda:N (overrides --backend)");
  cmd->callback([o, &exit_code] { exit_code = serve::run_server(*o); });
}

}  // namespace pivot::cli
