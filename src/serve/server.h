// `pivot serve`: an OpenAI-compatible HTTP server over the continuous-batching
// scheduler (pivot/scheduler.h).
//
// Threads: cpp-httplib's pool of handler threads parses requests (api.h),
// renders chat messages through the model's chat template, tokenises, and
// submits to the Scheduler; its single engine thread owns the Model, Backend and
// PagedKvCache and runs one batched forward per step. Handlers and the engine
// meet only in the scheduler's queue and each request's RequestHandle (text
// out, cancel in). A streamed response (server-sent events) polls its handle;
// when the client goes away the write fails, the handle is cancelled and the
// engine frees the sequence's KV blocks before its next step.
//
// Loading: the socket is bound first; /health answers 503 until the model is
// loaded, then 200. KV pool: --kv-blocks blocks of 16 tokens (default: enough
// for --parallel sequences of --ctx-size tokens); each request reserves
// prompt + max_tokens positions when admitted and waits in the queue until
// they are free. Requests that can never fit get a 400 naming the sizes.
//
// Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models,
// GET /health, GET /metrics (metrics.h). Errors are OpenAI error objects with
// the right status: 400 bad input, 401 API key, 404 path, 405 method, 413 body
// size, 500 engine failure, 503 loading.
#pragma once

#include <cstdint>
#include <string>

#include "pivot/backend.h"

namespace pivot::serve {

struct ServeOptions {
  std::string model_path;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;  // "": no authentication
  std::string backend = "cpu";
  int device = 0;   // device index within the backend (--device cuda:N)
  int threads = 0;  // 0: all cores
  ActivationType activations = ActivationType::kQ8;  // cpu: see BackendOptions
  int parallel = 4;                                  // sequences decoded together
  int64_t ctx_size = 0;       // per sequence; 0: min(4096, the model's training context)
  int64_t batch_size = 256;   // most tokens per forward step
  int64_t kv_blocks = 0;      // 0: parallel * ceil(ctx_size / block size)
  size_t max_body = 1 << 20;  // request body limit, bytes (413 above)
  int http_threads = 0;       // 0: max(16, 4 * parallel)
};

// Serves until SIGINT or SIGTERM; returns the process exit code. Throws
// pivot::Error when the port cannot be bound or the model cannot be loaded.
int run_server(const ServeOptions& opts);

}  // namespace pivot::serve
