// `pivot tokenize -m FILE [--ids|--pieces] [--no-bos] [--special] [TEXT]`: the token
// ids of TEXT (or of stdin) under the model's tokenizer.
//   default   one token per line: ID <tab> PIECE (C-escaped)
//   --ids     the ids on one line, space-separated
//   --pieces  the pieces on one line, C-escaped, space-separated
//   --stats   also: token count and encode time (single thread) on stderr
#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "commands.h"
#include "pivot/gguf.h"
#include "pivot/tokenizer.h"

namespace pivot::cli {
namespace {

// Printable ASCII as is; \\, \n, \t, \r and other bytes escaped, so a piece is
// one visible word (invalid or partial UTF-8 included).
std::string escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case ' ':
        out += "\\x20";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through
        }
    }
  }
  return out;
}

}  // namespace

void register_tokenize(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text (or of stdin)");
  struct Opts {
    std::string model, text;
    bool ids = false, pieces = false, no_bos = false, special = false, stats = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("-m,--model", o->model, "GGUF model (or vocabulary) file")->required();
  cmd->add_option("text", o->text, "Text to tokenize; read from stdin when absent");
  auto* ids = cmd->add_flag("--ids", o->ids, "Print only the ids, on one line");
  cmd->add_flag("--pieces", o->pieces, "Print only the pieces, on one line")->excludes(ids);
  cmd->add_flag("--no-bos", o->no_bos, "Do not add BOS/EOS even if the model asks for them");
  cmd->add_flag("--special", o->special, "Parse special-token text such as <|im_start|>");
  cmd->add_flag("--stats", o->stats, "Print token count and encode throughput to stderr");
  cmd->callback([o, cmd, &exit_code] {
    GgufFile f = GgufFile::open(o->model);
    std::unique_ptr<Tokenizer> tok = Tokenizer::from_gguf(f);
    std::string text = o->text;
    if (cmd->count("text") == 0) {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    auto t0 = std::chrono::steady_clock::now();
    std::vector<TokenId> ids = tok->encode(text, !o->no_bos, o->special);
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string out;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0 && (o->ids || o->pieces)) out += ' ';
      if (o->ids) {
        out += std::to_string(ids[i]);
      } else if (o->pieces) {
        out += escape(tok->token_to_piece(ids[i]));
      } else {
        out += std::to_string(ids[i]);
        out += '\t';
        out += escape(tok->token_to_piece(ids[i]));
        out += '\n';
      }
    }
    if ((o->ids || o->pieces) && !ids.empty()) out += "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    if (o->stats) {
      std::fprintf(stderr, "%zu tokens, %zu bytes, %.3f ms, %.2f MB/s\n", ids.size(), text.size(),
                   sec * 1e3, sec > 0 ? text.size() / sec / 1e6 : 0.0);
    }
    exit_code = 0;
  });
}

}  // namespace pivot::cli
