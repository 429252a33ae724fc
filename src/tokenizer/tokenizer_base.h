// What byte-level BPE and SentencePiece BPE share: the vocabulary, special-token
// splitting, BOS/EOS rules, pieces and decoding. A subclass only turns one raw
// text fragment into ids.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pivot/tokenizer.h"
#include "vocab.h"

namespace pivot::tok {

class TokenizerBase : public Tokenizer {
 public:
  std::vector<TokenId> encode(std::string_view text, bool add_special,
                              bool parse_special) const override;
  std::string token_to_piece(TokenId id) const override;
  std::string decode(std::span<const TokenId> ids) const override;

  size_t n_vocab() const override { return vocab_.size(); }
  const std::string& token_text(TokenId id) const override;
  TokenId bos() const override { return vocab_.bos; }
  TokenId eos() const override { return vocab_.eos; }
  bool is_eog(TokenId id) const override;
  bool add_bos() const override { return vocab_.add_bos; }

  const Vocab& vocab() const { return vocab_; }

 protected:
  explicit TokenizerBase(Vocab vocab);
  // Appends the ids of one raw-text fragment; `after_special` is true for the
  // first fragment and for one that follows a special token.
  virtual void encode_fragment(std::string_view text, bool after_special,
                               std::vector<TokenId>& out) const = 0;
  // Bytes a normal token stands for (its vocabulary text, decoded).
  virtual std::string normal_piece(const std::string& text) const = 0;
  // Fills pieces_; called by the subclass constructor once normal_piece works.
  void build_pieces();

  Vocab vocab_;

 private:
  void check_id(TokenId id) const;
  std::vector<std::string> pieces_;
};

}  // namespace pivot::tok
