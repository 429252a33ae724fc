// Tokenizers read from GGUF metadata: byte-level BPE (tokenizer.ggml.model =
// "gpt2", pre-tokenizer chosen by tokenizer.ggml.pre) and SentencePiece-style
// BPE (tokenizer.ggml.model = "llama"). Token ids match llama.cpp's exactly
// (tests/golden/tokenizer). Immutable after construction; thread-safe to share.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/gguf.h"

namespace pivot {

using TokenId = int32_t;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Builds the tokenizer the file describes. Errors: pivot::Error naming the key
  // (missing tokens, unknown tokenizer.ggml.model, bad merges). Warns on stderr,
  // once, for an unknown tokenizer.ggml.pre, naming the fallback.
  static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& file);

  // text (UTF-8; invalid bytes are documented in the implementation) -> ids.
  // add_special: prepend BOS / append EOS as the file's add_bos_token /
  // add_eos_token say. parse_special: recognise special/control token text
  // ("<|im_start|>") as those tokens; otherwise it is ordinary text.
  virtual std::vector<TokenId> encode(std::string_view text, bool add_special,
                                      bool parse_special) const = 0;

  // Bytes of one token as it appears in decoded text (byte-level mapping undone,
  // byte-fallback <0xNN> as the byte, SentencePiece's U+2581 as a space). Special
  // tokens render as their text. May be an incomplete UTF-8 sequence.
  virtual std::string token_to_piece(TokenId id) const = 0;

  // ids -> text; applies the leading-space rule of SentencePiece models.
  virtual std::string decode(std::span<const TokenId> ids) const = 0;

  virtual size_t n_vocab() const = 0;
  virtual const std::string& token_text(TokenId id) const = 0;  // raw vocabulary entry
  virtual TokenId bos() const = 0;                              // -1 if none
  virtual TokenId eos() const = 0;                              // -1 if none
  // End of generation: EOS, EOT and other end tokens the vocabulary marks.
  virtual bool is_eog(TokenId id) const = 0;
  virtual bool add_bos() const = 0;
};

// Streaming detokenizer: feed ids one at a time, get text that never ends in the
// middle of a UTF-8 character (held bytes come out with the next token or flush()).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok) : tok_(tok) {}
  std::string push(TokenId id);
  std::string flush();  // whatever is held, invalid bytes replaced by U+FFFD

 private:
  const Tokenizer& tok_;
  std::string pending_;
  size_t n_pushed_ = 0;
};

}  // namespace pivot
