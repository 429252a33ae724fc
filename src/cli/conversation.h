// A chat conversation rendered through the model's own chat template
// (tokenizer.chat_template, or --chat-template FILE), fed to the model
// incrementally: each turn yields only the text the KV cache has not seen.
//
// Each user turn re-renders the whole conversation with add_generation_prompt;
// if the result extends what was already fed, only the tail is new (the usual
// case); if the template rewrote earlier text (some templates drop old
// reasoning), the caller must reset the cache and feed everything.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "pivot/chat_template.h"
#include "pivot/gguf.h"

namespace pivot::cli {

class Conversation {
 public:
  // template_path: a Jinja file overriding the model's template ("" = the model's).
  // A model without a template gets ChatTemplate's documented default and the
  // warning goes to stderr. system: "" for none (the template may add its own).
  Conversation(const GgufFile& file, const std::string& template_path, const std::string& system);

  struct Delta {
    std::string text;  // to tokenize (with parse_special) and feed next
    bool reset;        // true: clear the KV cache first; text is the whole rendering
    bool add_bos;      // whether the tokenizer should add BOS (the template did not)
  };
  Delta user(const std::string& content);
  // Records the model's reply (the text it generated, without the end-of-turn token).
  void assistant(const std::string& reply);

  const ChatTemplate& chat_template() const { return tpl_; }

 private:
  ChatTemplate tpl_;
  nlohmann::ordered_json messages_ = nlohmann::ordered_json::array();
  std::string fed_;  // text already in the KV cache
};

}  // namespace pivot::cli
