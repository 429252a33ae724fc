// `pivot run -m FILE -p PROMPT [-n N] [sampling] [--stop STR]... [--chat]`: one
// completion streamed to stdout; load time and prompt/generation speed to stderr.
#include <cstdio>

#include "commands.h"
#include "conversation.h"
#include "session.h"

namespace pivot::cli {

void register_run(CLI::App& app, int& exit_code) {
  struct Opts {
    SessionOptions session;
    std::string prompt, system;
    int64_t n_predict = 256;
    std::vector<std::string> stop;
    bool chat = false;
    std::string chat_template;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("run", "complete a prompt, streaming to stdout");
  add_session_options(cmd, o->session);
  cmd->add_option("-p,--prompt", o->prompt, "prompt text")->required();
  cmd->add_option("-n,--n-predict", o->n_predict,
                  "tokens to generate (-1: until end or full context)")
      ->capture_default_str();
  cmd->add_option("--stop", o->stop, "stop string (repeatable; not printed)");
  cmd->add_flag("--chat", o->chat, "wrap the prompt as a user turn of the model's chat format");
  cmd->add_option("--system", o->system, "system prompt for --chat");
  cmd->add_option("--chat-template", o->chat_template,
                  "Jinja chat template file for --chat (default: the model's own)");
  cmd->callback([o, &exit_code] {
    auto s = open_session(o->session);
    std::string text = o->prompt;
    bool add_bos = true;
    if (o->chat) {
      Conversation conv(s->file, o->chat_template, o->system);
      Conversation::Delta d = conv.user(o->prompt);
      text = d.text;
      add_bos = d.add_bos;
    }
    const std::vector<TokenId> ids = s->tok->encode(text, add_bos, /*parse_special=*/true);
    Sampler sampler(o->session.sampling, s->model->spec().n_vocab);
    GenerateOptions go;
    go.n_predict = o->n_predict;
    go.stop = o->stop;
    std::vector<float> logits;
    const GenerateStats st =
        generate(*s->model, *s->kv, *s->tok, sampler, ids, go, logits, [](std::string_view t) {
          std::fwrite(t.data(), 1, t.size(), stdout);
          std::fflush(stdout);
        });
    std::fputc('\n', stdout);
    std::fflush(stdout);
    print_speed(st);
    exit_code = 0;
  });
}

}  // namespace pivot::cli
