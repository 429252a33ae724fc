// SentencePiece-style BPE (tokenizer.ggml.model = "llama": Llama 2, Phi-3,
// Gemma 3), as llama.cpp's llm_tokenizer_spm_session: spaces become U+2581, a
// space is prepended when add_space_prefix says so (at the start and after each
// special token), then adjacent pieces merge while their concatenation is a
// token, highest score first (leftmost on ties); what is left that is not a token
// falls back to byte tokens <0xNN>.
//
// Invalid UTF-8 is kept: characters are split by their lead byte, as llama.cpp
// does, and bytes that form no token become byte tokens, so decode() gives the
// input bytes back (except that a space swallowed by a broken sequence comes back
// as U+2581).
#pragma once

#include <vector>

#include "tokenizer_base.h"

namespace pivot::tok {

class SpmTokenizer final : public TokenizerBase {
 public:
  explicit SpmTokenizer(Vocab vocab);

 protected:
  void encode_fragment(std::string_view text, bool after_special,
                       std::vector<TokenId>& out) const override;
  std::string normal_piece(const std::string& text) const override;

 private:
  std::vector<TokenId> byte_token_;  // byte -> <0xNN> (or the one-byte token), else unk
};

}  // namespace pivot::tok
