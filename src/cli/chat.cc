// `pivot chat -m FILE [--system TEXT]`: interactive multi-turn chat on stdin/stdout.
// The KV cache keeps the conversation, so each turn only processes its new tokens.
#include <cstdio>
#include <iostream>

#include <unistd.h>

#include "commands.h"
#include "conversation.h"
#include "session.h"

namespace pivot::cli {

void register_chat(CLI::App& app, int& exit_code) {
  struct Opts {
    SessionOptions session;
    std::string system;
    int64_t n_predict = -1;
    std::string chat_template;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("chat", "interactive chat (one line per user turn; EOF ends)");
  add_session_options(cmd, o->session);
  cmd->add_option("--system", o->system, "system prompt (default: the template's, if any)");
  cmd->add_option("--chat-template", o->chat_template,
                  "Jinja chat template file (default: the model's own)");
  cmd->add_option("-n,--n-predict", o->n_predict, "most tokens per reply (-1: until end of turn)")
      ->capture_default_str();
  cmd->callback([o, &exit_code] {
    auto s = open_session(o->session);
    Conversation conv(s->file, o->chat_template, o->system);
    Sampler sampler(o->session.sampling, s->model->spec().n_vocab);
    std::vector<float> logits;
    const bool tty = isatty(fileno(stdin));
    std::string line;
    for (;;) {
      if (tty) std::fputs("> ", stdout), std::fflush(stdout);
      if (!std::getline(std::cin, line)) break;
      if (line.empty()) continue;
      // Only the part of the rendered conversation the KV cache has not seen is fed.
      const Conversation::Delta d = conv.user(line);
      if (d.reset) s->kv->n_past = 0;
      const std::vector<TokenId> ids = s->tok->encode(d.text, d.add_bos, /*parse_special=*/true);
      GenerateOptions go;
      go.n_predict = o->n_predict;
      std::string reply;
      const GenerateStats st = generate(*s->model, *s->kv, *s->tok, sampler, ids, go, logits,
                                        [&reply](std::string_view t) {
                                          reply += t;
                                          std::fwrite(t.data(), 1, t.size(), stdout);
                                          std::fflush(stdout);
                                        });
      conv.assistant(reply);
      std::fputs("\n", stdout);
      std::fflush(stdout);
      print_speed(st);
      if (st.reason == StopReason::kContextFull) {
        std::fprintf(stderr,
                     "pivot: context full (%lld tokens); start a new chat or raise --ctx-size\n",
                     static_cast<long long>(s->kv->n_ctx()));
        break;
      }
    }
    exit_code = 0;
  });
}

}  // namespace pivot::cli
