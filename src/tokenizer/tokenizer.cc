// Tokenizer::from_gguf (picks the tokenizer the file describes) and StreamDecoder.
#include "pivot/tokenizer.h"

#include <cstdio>

#include "bpe.h"
#include "pivot/error.h"
#include "spm.h"
#include "utf8.h"

namespace pivot {

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) {
  const std::string& model = file.get("tokenizer.ggml.model").as_string("tokenizer.ggml.model");
  if (model == "gpt2") {
    std::string pre;
    if (const GgufValue* p = file.find("tokenizer.ggml.pre"))
      pre = p->as_string("tokenizer.ggml.pre");
    const tok::PreTokenizerSpec* spec = tok::find_pre_tokenizer(pre);
    if (!spec) {
      spec = &tok::default_pre_tokenizer();
      if (pre.empty()) {
        std::fprintf(stderr,
                     "pivot: warning: %s: no tokenizer.ggml.pre; using the \"%s\" pre-tokenizer "
                     "(token ids may differ from the model's)\n",
                     file.path().c_str(), spec->name.c_str());
      } else {
        std::fprintf(stderr,
                     "pivot: warning: %s: unknown tokenizer.ggml.pre \"%s\"; falling back to the "
                     "\"%s\" pre-tokenizer (token ids may differ from the model's)\n",
                     file.path().c_str(), pre.c_str(), spec->name.c_str());
      }
    }
    return std::make_unique<tok::BpeTokenizer>(tok::Vocab::load(file, spec->add_bos), *spec, file);
  }
  // Vocab::load reports an unsupported tokenizer.ggml.model.
  return std::make_unique<tok::SpmTokenizer>(tok::Vocab::load(file, true));
}

std::string StreamDecoder::push(TokenId id) {
  pending_ += tok_.token_to_piece(id);
  ++n_pushed_;
  size_t ready = pending_.size() - tok::utf8_incomplete_tail(pending_);
  std::string buf;
  std::string out(tok::sanitize_utf8(std::string_view(pending_).substr(0, ready), buf));
  pending_.erase(0, ready);
  return out;
}

std::string StreamDecoder::flush() {
  std::string buf;
  std::string out(tok::sanitize_utf8(pending_, buf));
  pending_.clear();
  return out;
}

}  // namespace pivot
