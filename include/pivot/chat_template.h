// Chat templates: render a conversation into the prompt text a model expects.
//
// Every instruct model ships its prompt format as a Jinja template
// (`tokenizer.chat_template` in GGUF, `chat_template` in HF tokenizer_config.json).
// ChatTemplate interprets the Jinja subset those templates use and renders
// byte for byte what Hugging Face's `apply_chat_template(..., tokenize=False)`
// renders: jinja2 with trim_blocks and lstrip_blocks, the loopcontrols
// extension, raise_exception, strftime_now and HF's tojson
// (json.dumps(x, ensure_ascii=False)), in an immutable sandbox.
//
// Context, built as HF builds it: `messages` (keys whose value is null are
// dropped; `reasoning_content` / `thinking` / `reasoning` are aliased to each
// other as transformers does), `tools` (null when absent), `documents` (null),
// `add_generation_prompt`, `bos_token`, `eos_token`, then `extra` (extra
// keyword arguments such as enable_thinking; they override the tokens).
//
// Messages and tools are nlohmann::ordered_json because key order is visible
// in the output (tojson, dict iteration), exactly as in Python dicts.
//
// Errors: a template that does not parse, or that fails or calls
// raise_exception while rendering, throws pivot::Error
//   "NAME:LINE:COLUMN: MESSAGE"
// where MESSAGE is the template's own message for raise_exception and
// jinja2's wording otherwise. Rendering is bounded (output size, steps, macro
// depth, range() length), so no template can hang or crash the process.
// A ChatTemplate is immutable after construction and safe to share between
// threads; render() may be called concurrently.
#pragma once

#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace pivot {

class GgufFile;

struct RenderOptions {
  nlohmann::ordered_json tools = nullptr;  // array of tool schemas, or null for none
  bool add_generation_prompt = false;
  // Special tokens as text; unset means the template's own (from the GGUF
  // vocabulary for from_gguf(), else undefined in the template).
  std::optional<std::string> bos_token, eos_token;
  nlohmann::ordered_json extra =
      nlohmann::ordered_json::object();  // e.g. {"enable_thinking": false}
  // strftime_now()'s clock. Unset: the current local time, as Python's
  // datetime.now(). Set: this instant formatted in UTC (reproducible renders).
  std::optional<std::time_t> now;
};

class ChatTemplate {
 public:
  // ChatML, used for models that ship no template (and as HF's historical default):
  //   <|im_start|>{role}\n{content}<|im_end|>\n ... [<|im_start|>assistant\n]
  static const char* const kDefaultSource;

  // Parses `source`; `name` labels errors (a file path, "SmolLM2.gguf", ...).
  // Throws pivot::Error "NAME:LINE:COLUMN: MESSAGE" on a syntax error.
  explicit ChatTemplate(std::string source, std::string name = "chat template");

  // The model's `tokenizer.chat_template`, with bos/eos text from its vocabulary.
  // A model without one gets pivot's built-in template for its
  // general.architecture (src/template/builtin_templates.cc: Gemma's
  // <start_of_turn> format for gemma/gemma2/gemma3), else kDefaultSource;
  // warning() then says which, and the caller shows it to the user.
  static ChatTemplate from_gguf(const GgufFile& file);

  std::string render(const nlohmann::ordered_json& messages, const RenderOptions& opt) const;

  const std::string& source() const { return source_; }
  const std::string& name() const { return name_; }
  bool is_default() const { return !warning_.empty(); }
  const std::string& warning() const { return warning_; }  // empty unless defaulted
  const std::optional<std::string>& bos_token() const { return bos_; }
  const std::optional<std::string>& eos_token() const { return eos_; }

 private:
  struct Compiled;
  std::string source_, name_, warning_;
  std::optional<std::string> bos_, eos_;
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace pivot
