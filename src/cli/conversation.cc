#include "conversation.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "pivot/error.h"

namespace pivot::cli {
namespace {

ChatTemplate load_template(const GgufFile& file, const std::string& path) {
  if (path.empty()) {
    ChatTemplate t = ChatTemplate::from_gguf(file);
    if (t.is_default()) std::fprintf(stderr, "pivot: warning: %s\n", t.warning().c_str());
    return t;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--chat-template %s: cannot read the file", path.c_str());
  std::stringstream ss;
  ss << in.rdbuf();
  return ChatTemplate(ss.str(), path);
}

}  // namespace

Conversation::Conversation(const GgufFile& file, const std::string& template_path,
                           const std::string& system)
    : tpl_(load_template(file, template_path)) {
  if (!system.empty()) messages_.push_back({{"role", "system"}, {"content", system}});
}

Conversation::Delta Conversation::user(const std::string& content) {
  messages_.push_back({{"role", "user"}, {"content", content}});
  RenderOptions ro;
  ro.add_generation_prompt = true;
  std::string full = tpl_.render(messages_, ro);
  const std::string bos = tpl_.bos_token().value_or("");
  Delta d;
  if (!fed_.empty() && full.compare(0, fed_.size(), fed_) == 0) {
    d = {full.substr(fed_.size()), false, false};
  } else {
    const bool template_has_bos = !bos.empty() && full.compare(0, bos.size(), bos) == 0;
    d = {full, !fed_.empty(), !template_has_bos};
  }
  fed_ = std::move(full);
  return d;
}

void Conversation::assistant(const std::string& reply) {
  messages_.push_back({{"role", "assistant"}, {"content", reply}});
  fed_ += reply;
}

}  // namespace pivot::cli
