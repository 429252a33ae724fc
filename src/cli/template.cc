// `pivot template (-m FILE | --template FILE) --messages FILE.json [--tools FILE.json]
//  [--add-generation-prompt] [--var key=value]...`: prints a conversation rendered
// with a chat template, exactly as the model will see it (no trailing newline added).
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "pivot/chat_template.h"
#include "pivot/error.h"
#include "pivot/gguf.h"

namespace pivot::cli {
namespace {

using json = nlohmann::ordered_json;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("%s: cannot open", path.c_str());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json read_json(const std::string& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::parse_error& e) {
    fail("%s: invalid JSON: %s", path.c_str(), e.what());
  }
}

struct Options {
  std::string model, template_file, messages, tools, bos, eos;
  bool add_generation_prompt = false;
  std::vector<std::string> vars;
  int64_t now = -1;
};

void run(const Options& o) {
  if (o.model.empty() == o.template_file.empty())
    fail("give exactly one of -m/--model and --template");
  ChatTemplate tpl = o.model.empty() ? ChatTemplate(read_file(o.template_file), o.template_file)
                                     : ChatTemplate::from_gguf(GgufFile::open(o.model));
  if (tpl.is_default()) std::fprintf(stderr, "pivot: warning: %s\n", tpl.warning().c_str());

  json messages = read_json(o.messages);
  RenderOptions ro;
  if (messages.is_object()) {  // {"messages": [...], "tools": [...]} is accepted too
    if (messages.contains("tools")) ro.tools = messages["tools"];
    messages = json(messages.value("messages", json::array()));
  }
  if (!o.tools.empty()) ro.tools = read_json(o.tools);
  ro.add_generation_prompt = o.add_generation_prompt;
  if (!o.bos.empty()) ro.bos_token = o.bos;
  if (!o.eos.empty()) ro.eos_token = o.eos;
  if (o.now >= 0) ro.now = static_cast<std::time_t>(o.now);
  for (const std::string& kv : o.vars) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) fail("--var %s: expected key=value", kv.c_str());
    std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    // JSON when it parses (true, 3, "x", [..]); otherwise the text itself.
    json v = json::parse(value, nullptr, false);
    ro.extra[key] = v.is_discarded() ? json(value) : v;
  }
  std::string out = tpl.render(messages, ro);
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void register_template(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("template", "Render a conversation with a chat template");
  cmd->add_option("-m,--model", opts->model, "GGUF model whose tokenizer.chat_template to use");
  cmd->add_option("--template", opts->template_file, "Jinja chat template file");
  cmd->add_option("--messages", opts->messages, "JSON file: array of messages")->required();
  cmd->add_option("--tools", opts->tools, "JSON file: array of tool schemas");
  cmd->add_flag("--add-generation-prompt", opts->add_generation_prompt,
                "End with the header of an assistant turn");
  cmd->add_option("--var", opts->vars, "Extra template variable key=value (value: JSON or text)");
  cmd->add_option("--bos", opts->bos, "bos_token text (default: the model's)");
  cmd->add_option("--eos", opts->eos, "eos_token text (default: the model's)");
  cmd->add_option("--now", opts->now, "Unix time strftime_now() formats, in UTC (default: now)");
  cmd->callback([opts, &exit_code] {
    run(*opts);
    exit_code = 0;
  });
}

}  // namespace pivot::cli
