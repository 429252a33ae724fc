#include "chatml.h"

#include "pivot/error.h"

namespace pivot::cli {
namespace {

const std::string& chat_template(const GgufFile& file) {
  static const std::string none;
  const GgufValue* t = file.find("tokenizer.chat_template");
  return t && t->is_string() ? t->as_string("tokenizer.chat_template") : none;
}

}  // namespace

void require_chatml(const GgufFile& file) {
  if (chat_template(file).find("<|im_start|>") == std::string::npos)
    fail(
        "%s: chat needs the model's chat template, and this build only renders ChatML "
        "(<|im_start|>) templates; use a plain prompt (-p) instead",
        file.path().c_str());
}

std::string default_system_prompt(const GgufFile& file) {
  // SmolLM2's template inserts this when the first message is not a system one.
  static const std::string smollm =
      "You are a helpful AI assistant named SmolLM, trained by Hugging Face";
  return chat_template(file).find(smollm) != std::string::npos ? smollm : std::string();
}

std::string chatml_message(const std::string& role, const std::string& content) {
  return "<|im_start|>" + role + "\n" + content + "<|im_end|>\n";
}

}  // namespace pivot::cli
