#include "server.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "api.h"
#include "metrics.h"
#include "pivot/backend.h"
#include "pivot/chat_template.h"
#include "pivot/error.h"
#include "pivot/gguf.h"
#include "pivot/model.h"
#include "pivot/paged_kv_cache.h"
#include "pivot/scheduler.h"
#include "pivot/tokenizer.h"

namespace pivot::serve {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

// Everything that exists once the model is loaded; read-only afterwards.
struct Engine {
  GgufFile file;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<Model> model;
  std::unique_ptr<ChatTemplate> tpl;
  std::unique_ptr<PagedKvCache> kv;
  std::unique_ptr<Scheduler> sched;
  std::string model_id;
  int64_t n_ctx = 0;
};

std::unique_ptr<Engine> load(const ServeOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  auto e = std::unique_ptr<Engine>(
      new Engine{GgufFile::open(o.model_path), {}, {}, {}, {}, {}, {}, {}, 0});
  BackendOptions bo;
  bo.n_threads = o.threads;
  bo.activations = o.activations;
  bo.device = o.device;
  e->backend = create_backend(o.backend, bo);
  e->tok = Tokenizer::from_gguf(e->file);
  ModelOptions mo;
  mo.n_batch = o.batch_size;
  e->model = load_model(e->file, *e->backend, mo);
  e->tpl = std::make_unique<ChatTemplate>(ChatTemplate::from_gguf(e->file));
  if (e->tpl->is_default()) std::fprintf(stderr, "pivot: warning: %s\n", e->tpl->warning().c_str());
  const ModelSpec& spec = e->model->spec();
  e->n_ctx = o.ctx_size > 0 ? o.ctx_size : std::min<int64_t>(4096, spec.n_ctx_train);
  const int64_t bs = PagedKvCache::kDefaultBlockSize;
  const int64_t blocks = o.kv_blocks > 0 ? o.kv_blocks : o.parallel * ((e->n_ctx + bs - 1) / bs);
  e->kv = std::make_unique<PagedKvCache>(*e->backend, spec, blocks, bs);
  SchedulerOptions so;
  so.parallel = o.parallel;
  so.n_ctx = e->n_ctx;
  so.step_tokens = o.batch_size;
  e->sched = std::make_unique<Scheduler>(*e->model, *e->tok, *e->kv, so);
  std::string name = o.model_path.substr(o.model_path.find_last_of('/') + 1);
  e->model_id = name;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr,
               "pivot: loaded %s (%s) on %s in %.2f s; %d parallel sequences of up to %lld "
               "tokens; KV cache %lld blocks of %lld tokens (%.1f MiB)\n",
               spec.name.c_str(), spec.arch.c_str(), e->backend->props().name.c_str(), s,
               o.parallel, static_cast<long long>(e->n_ctx), static_cast<long long>(blocks),
               static_cast<long long>(bs), e->kv->bytes() / 1048576.0);
  return e;
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(error_json(e).dump(), "application/json");
}

std::string endpoint_label(const std::string& path) {
  for (const char* p :
       {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics"})
    if (path == p) return p;
  return "other";
}

class Server {
 public:
  explicit Server(const ServeOptions& o) : o_(o) {}

  int run() {
    const int n_threads = o_.http_threads > 0 ? o_.http_threads : std::max(16, 4 * o_.parallel);
    svr_.new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
    svr_.set_payload_max_length(o_.max_body);
    routes();
    int port = o_.port;
    if (port == 0) port = svr_.bind_to_any_port(o_.host.c_str());
    if (port <= 0 || (o_.port != 0 && !svr_.bind_to_port(o_.host.c_str(), o_.port)))
      fail("cannot listen on %s:%d (in use, or not a local address?)", o_.host.c_str(), o_.port);
    std::thread http([this] { svr_.listen_after_bind(); });
    std::fprintf(stderr, "pivot: listening on http://%s:%d (loading the model)\n", o_.host.c_str(),
                 port);
    std::thread signals([this] { wait_for_signal(); });
    try {
      engine_ = load(o_);
      ready_.store(true);
      std::fprintf(stderr, "pivot: ready\n");
    } catch (...) {
      svr_.stop();
      http.join();
      pthread_kill(signals.native_handle(), SIGTERM);
      signals.join();
      throw;
    }
    http.join();
    signals.join();
    std::fprintf(stderr, "pivot: stopped\n");
    return 0;
  }

 private:
  // SIGINT/SIGTERM (blocked in every thread by the caller) end the server.
  void wait_for_signal() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    svr_.stop();
  }

  void routes() {
    svr_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (o_.api_key.empty() || req.path.rfind("/v1/", 0) != 0)
        return httplib::Server::HandlerResponse::Unhandled;
      const std::string auth = req.get_header_value("Authorization");
      if (auth == "Bearer " + o_.api_key) return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, ApiError(401,
                               auth.empty() ? "missing API key: send 'Authorization: Bearer KEY'"
                                            : "invalid API key",
                               "", "invalid_api_key", "authentication_error"));
      return httplib::Server::HandlerResponse::Handled;
    });
    svr_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 404)
        send_error(res, ApiError(404, "no such endpoint: " + req.path, "", "not_found"));
      else if (res.status == 413)
        send_error(res, ApiError(413, "request body too large", "", "payload_too_large"));
      else
        send_error(res, ApiError(res.status, "HTTP error " + std::to_string(res.status), "",
                                 std::to_string(res.status)));
    });
    svr_.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown error";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          send_error(res, ApiError(500, what, "", "internal_error", "server_error"));
        });
    svr_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      metrics_.request(endpoint_label(req.path), res.status);
    });

    svr_.Post("/v1/chat/completions", [this](const httplib::Request& q, httplib::Response& r) {
      complete(Endpoint::kChat, q, r);
    });
    svr_.Post("/v1/completions", [this](const httplib::Request& q, httplib::Response& r) {
      complete(Endpoint::kCompletion, q, r);
    });
    svr_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& r) {
      if (!ready_) return unavailable(r);
      json m = {
          {"id", engine_->model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "pivot"}};
      r.set_content(json{{"object", "list"}, {"data", json::array({m})}}.dump(),
                    "application/json");
    });
    svr_.Get("/health", [this](const httplib::Request&, httplib::Response& r) {
      if (!ready_) return unavailable(r);
      r.set_content(R"({"status":"ok"})", "application/json");
    });
    svr_.Get("/metrics", [this](const httplib::Request&, httplib::Response& r) {
      const SchedulerStats s = ready_ ? engine_->sched->stats() : SchedulerStats{};
      r.set_content(metrics_.render(s, ready_), "text/plain; version=0.0.4; charset=utf-8");
    });

    // Known paths with the wrong method: 405 with an Allow header.
    auto not_allowed = [](const char* allow) {
      return [allow](const httplib::Request& req, httplib::Response& res) {
        res.set_header("Allow", allow);
        send_error(res, ApiError(405,
                                 "method " + req.method + " is not allowed on " + req.path +
                                     " (allowed: " + allow + ")",
                                 "", "method_not_allowed"));
      };
    };
    for (const char* p : {"/v1/chat/completions", "/v1/completions"}) {
      svr_.Get(p, not_allowed("POST"));
      svr_.Put(p, not_allowed("POST"));
      svr_.Patch(p, not_allowed("POST"));
      svr_.Delete(p, not_allowed("POST"));
    }
    for (const char* p : {"/v1/models", "/health", "/metrics"}) {
      svr_.Post(p, not_allowed("GET"));
      svr_.Put(p, not_allowed("GET"));
      svr_.Patch(p, not_allowed("GET"));
      svr_.Delete(p, not_allowed("GET"));
    }
  }

  void unavailable(httplib::Response& r) {
    send_error(r, ApiError(503, "the model is still loading", "", "loading", "server_error"));
  }

  void complete(Endpoint ep, const httplib::Request& req, httplib::Response& res) {
    if (!ready_) return unavailable(res);
    try {
      submit_and_answer(ep, req, res);
    } catch (const ApiError& e) {
      send_error(res, e);
    }
  }

  // Prompt text -> tokens, with the chat template for chat requests.
  std::vector<TokenId> prompt_tokens(const ApiRequest& r) const {
    const Engine& e = *engine_;
    if (r.endpoint == Endpoint::kCompletion) return e.tok->encode(r.prompt, true, true);
    RenderOptions ro;
    ro.add_generation_prompt = true;
    std::string text;
    try {
      text = e.tpl->render(r.messages, ro);
    } catch (const Error& err) {
      throw ApiError(400, std::string("the chat template rejected the messages: ") + err.what(),
                     "messages", "invalid_value");
    }
    const std::string bos = e.tpl->bos_token().value_or("");
    const bool template_has_bos = !bos.empty() && text.compare(0, bos.size(), bos) == 0;
    return e.tok->encode(text, !template_has_bos, true);
  }

  void submit_and_answer(Endpoint ep, const httplib::Request& req, httplib::Response& res) {
    Engine& e = *engine_;
    const ApiRequest r = parse_request(ep, req.body);
    RequestParams p;
    p.prompt = prompt_tokens(r);
    const int64_t n_prompt = static_cast<int64_t>(p.prompt.size());
    if (n_prompt >= e.n_ctx)
      throw ApiError(400,
                     strprintf("the prompt has %lld tokens; the context limit is %lld tokens "
                               "(prompt + max_tokens)",
                               static_cast<long long>(n_prompt), static_cast<long long>(e.n_ctx)),
                     ep == Endpoint::kChat ? "messages" : "prompt", "context_length_exceeded");
    p.max_tokens = r.max_tokens.value_or(e.n_ctx - n_prompt);
    p.sampling = r.sampling;
    if (!r.seed_given) p.sampling.seed = std::random_device{}();
    p.stop = r.stop;
    std::shared_ptr<RequestHandle> h;
    try {
      h = e.sched->submit(std::move(p));
    } catch (const Error& err) {
      throw ApiError(400, err.what(), r.max_tokens ? "max_tokens" : "", "context_length_exceeded");
    }
    ResponseMeta meta;
    meta.id = (ep == Endpoint::kChat ? "chatcmpl-" : "cmpl-") + std::to_string(++next_id_);
    meta.model = e.model_id;
    meta.created = static_cast<int64_t>(std::time(nullptr));
    if (!r.stream) return answer_whole(ep, meta, h, res);
    answer_stream(ep, meta, r.include_usage, h, res);
  }

  void answer_whole(Endpoint ep, const ResponseMeta& meta, const std::shared_ptr<RequestHandle>& h,
                    httplib::Response& res) {
    std::string text;
    while (!h->wait(text, milliseconds(1000))) {
    }
    const Completion c = h->completion();
    metrics_.completion(c);
    if (c.finish_reason == "error" || c.finish_reason == "cancelled")
      throw ApiError(500, "generation failed: " + (c.error.empty() ? c.finish_reason : c.error), "",
                     "internal_error", "server_error");
    res.set_content(
        response_json(ep, meta, text, c.finish_reason, c.n_prompt, c.n_generated).dump(),
        "application/json");
  }

  // Server-sent events: one chunk per text delta, then the finish chunk, the
  // usage chunk if asked, and "data: [DONE]".
  void answer_stream(Endpoint ep, const ResponseMeta& meta, bool include_usage,
                     const std::shared_ptr<RequestHandle>& h, httplib::Response& res) {
    struct State {
      bool first = true;
      std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
    };
    auto st = std::make_shared<State>();
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, ep, meta, include_usage, h, st](size_t, httplib::DataSink& sink) {
          auto send = [&](const std::string& s) {
            st->last_write = std::chrono::steady_clock::now();
            return sink.write(s.data(), s.size());
          };
          auto event = [&](const json& j) { return send("data: " + j.dump() + "\n\n"); };
          std::string text;
          const bool done = h->wait(text, milliseconds(100));
          if ((st->first && (ep == Endpoint::kChat || !text.empty() || done)) || !text.empty()) {
            if (!event(chunk_json(ep, meta, text, st->first, nullptr))) return false;
            st->first = false;
          }
          if (!done) {
            // Silence for a second: a comment line, so a vanished client is noticed.
            if (std::chrono::steady_clock::now() - st->last_write > std::chrono::seconds(1))
              return send(": keep-alive\n\n");
            return true;
          }
          const Completion c = h->completion();
          metrics_.completion(c);
          if (c.finish_reason == "error" || c.finish_reason == "cancelled") {
            event(error_json(ApiError(500, "generation failed: " + c.error, "", "internal_error",
                                      "server_error")));
          } else {
            event(chunk_json(ep, meta, "", false, &c.finish_reason));
            if (include_usage) event(usage_chunk_json(ep, meta, c.n_prompt, c.n_generated));
          }
          send("data: [DONE]\n\n");
          sink.done();
          return true;
        },
        [h](bool success) {
          if (!success) h->cancel();  // the client went away: free the sequence now
        });
  }

  ServeOptions o_;
  httplib::Server svr_;
  std::unique_ptr<Engine> engine_;
  std::atomic<bool> ready_{false};
  std::atomic<uint64_t> next_id_{0};
  Metrics metrics_;
};

}  // namespace

int run_server(const ServeOptions& opts) {
  if (opts.parallel < 1) fail("--parallel must be >= 1, got %d", opts.parallel);
  if (opts.port < 0 || opts.port > 65535) fail("--port must be in [0, 65535], got %d", opts.port);
  // Block SIGINT/SIGTERM in every thread; one thread takes them with sigwait().
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Server s(opts);
  return s.run();
}

}  // namespace pivot::serve
