// Shape and dtype rules of every op in pivot/backend.h, shared by all backends so
// that each one rejects exactly the same malformed ops with the same message.
#pragma once

#include <string>

#include "pivot/backend.h"

namespace pivot {

// Empty if `op` is well-formed per the contract in backend.h, else why not.
// Does not read tensor data, and does not judge whether a backend supports
// the weight's block type (that is supports()'s business).
std::string op_shape_error(const OpDesc& op);

// Throws pivot::Error "BACKEND: OP: WHY" if op_shape_error() is non-empty.
void check_op(const OpDesc& op, const char* backend);

// For host-visible backends: throws pivot::Error if row m of a kPagedAttention
// table has a negative position, too few blocks for it, or a block id outside
// the pool (reads the table's data).
void check_paged_row(const OpDesc& op, int64_t m, const char* backend);

// GELU, tanh approximation, as ggml and PyTorch's gelu(approximate="tanh") define it.
float gelu_tanh(float x);

}  // namespace pivot
