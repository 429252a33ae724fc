// ChatTemplate: the public face of the template interpreter (see
// include/pivot/chat_template.h): builds HF's context and maps internal
// errors to pivot::Error with line and column.
#include "pivot/chat_template.h"

#include "ast.h"
#include "builtin_templates.h"
#include "eval.h"
#include "lexer.h"
#include "pivot/error.h"
#include "pivot/gguf.h"
#include "text.h"

namespace pivot {

const char* const ChatTemplate::kDefaultSource =
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

struct ChatTemplate::Compiled {
  std::string normalized;
  tpl::Body body;
};

namespace {

[[noreturn]] void fail_at(const std::string& name, const std::string& src, size_t pos,
                          const std::string& msg) {
  if (pos == tpl::kNoPos || pos > src.size()) throw Error(name + ": " + msg);
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < pos; ++i)
    if (src[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  size_t col = tpl::text::length(std::string_view(src).substr(line_start, pos - line_start)) + 1;
  throw Error(name + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + msg);
}

// transformers' _normalize_chat_messages + _alias_reasoning_fields.
tpl::Value hf_message(const nlohmann::ordered_json& m) {
  if (!m.is_object()) throw Error("chat message must be a JSON object, got " + m.dump());
  nlohmann::ordered_json msg = nlohmann::ordered_json::object();
  for (auto it = m.begin(); it != m.end(); ++it)
    if (!it.value().is_null()) msg[it.key()] = it.value();
  const nlohmann::ordered_json* reasoning = nullptr;
  for (const char* k : {"reasoning_content", "thinking", "reasoning"})
    if (!reasoning && msg.contains(k)) reasoning = &msg[k];
  if (!reasoning) return tpl::Value::from_json(msg);
  nlohmann::ordered_json r = *reasoning;
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["thinking"] = r;
  for (auto it = msg.begin(); it != msg.end(); ++it) out[it.key()] = it.value();
  out["reasoning_content"] = r;
  return tpl::Value::from_json(out);
}

std::string token_text(const GgufFile& f, const char* id_key) {
  const GgufValue* id = f.find(id_key);
  const GgufValue* toks = f.find("tokenizer.ggml.tokens");
  if (!id || !toks || !toks->is_array()) return "";
  uint64_t i = id->as_u64(id_key);
  const GgufArray& a = toks->as_array("tokenizer.ggml.tokens");
  if (i >= a.items.size() || !a.items[i].is_string()) return "";
  return a.items[i].as_string("tokenizer.ggml.tokens");
}

}  // namespace

ChatTemplate::ChatTemplate(std::string source, std::string name)
    : source_(std::move(source)), name_(std::move(name)) {
  auto c = std::make_shared<Compiled>();
  c->normalized = tpl::normalize_newlines(source_);
  try {
    c->body = tpl::parse(c->normalized);
  } catch (const tpl::TemplateError& e) {
    fail_at(name_, c->normalized, e.pos, e.what());
  }
  compiled_ = std::move(c);
}

ChatTemplate ChatTemplate::from_gguf(const GgufFile& file) {
  const GgufValue* v = file.find("tokenizer.chat_template");
  const GgufValue* arch = file.find("general.architecture");
  const tpl::BuiltinTemplate* b =
      v || !arch || !arch->is_string()
          ? nullptr
          : tpl::builtin_template(arch->as_string("general.architecture"));
  ChatTemplate t = v   ? ChatTemplate(v->as_string("tokenizer.chat_template"),
                                      file.path() + " (tokenizer.chat_template)")
                   : b ? ChatTemplate(std::string(b->source),
                                      "built-in " + std::string(b->label) + " chat template")
                       : ChatTemplate(kDefaultSource, "default chat template");
  if (b)
    t.warning_ = file.path() + " has no tokenizer.chat_template; using pivot's built-in " +
                 std::string(b->label) + " template for architecture '" + std::string(b->arch) +
                 "' (override with --chat-template FILE)";
  else if (!v)
    t.warning_ = file.path() +
                 " has no tokenizer.chat_template; using the default ChatML template, which the "
                 "model may not have been trained on (override with --chat-template FILE)";
  if (std::string s = token_text(file, "tokenizer.ggml.bos_token_id"); !s.empty()) t.bos_ = s;
  if (std::string s = token_text(file, "tokenizer.ggml.eos_token_id"); !s.empty()) t.eos_ = s;
  return t;
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages,
                                 const RenderOptions& opt) const {
  if (!messages.is_array()) throw Error("chat messages must be a JSON array");
  if (!opt.extra.is_object()) throw Error("extra template variables must be a JSON object");
  tpl::List msgs;
  for (const auto& m : messages) msgs.push_back(hf_message(m));
  std::vector<std::pair<std::string, tpl::Value>> vars;
  vars.emplace_back("messages", tpl::Value(std::move(msgs)));
  vars.emplace_back("tools", tpl::Value::from_json(opt.tools));
  vars.emplace_back("documents", tpl::Value());
  vars.emplace_back("add_generation_prompt", tpl::Value(opt.add_generation_prompt));
  std::optional<std::string> bos = opt.bos_token ? opt.bos_token : bos_;
  std::optional<std::string> eos = opt.eos_token ? opt.eos_token : eos_;
  if (bos) vars.emplace_back("bos_token", tpl::Value(*bos));
  if (eos) vars.emplace_back("eos_token", tpl::Value(*eos));
  for (auto it = opt.extra.begin(); it != opt.extra.end(); ++it)
    vars.emplace_back(it.key(), tpl::Value::from_json(it.value()));

  tpl::EvalOptions eo;
  if (opt.now) {
    gmtime_r(&*opt.now, &eo.now);
  } else {
    std::time_t t = std::time(nullptr);
    localtime_r(&t, &eo.now);
  }
  try {
    return tpl::render(compiled_->body, vars, eo);
  } catch (const tpl::TemplateError& e) {
    fail_at(name_, compiled_->normalized, e.pos, e.what());
  }
}

}  // namespace pivot
