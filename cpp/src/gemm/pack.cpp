// Packing operands into micro-panels (see pack.h). Copies only: the layout of the
// source picks the loop that reads it in memory order.
#include "pack.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>

#include "tile_math.h"

#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

namespace gankit {
namespace gemm_detail {

namespace {

// W is a template parameter so the per-step copies have a compile-time length; W == 0
// is the fallback that takes the width at run time.

// Row r (< w) of a panel whose first row is X's row `first`: 1 for the ones row, else 0
// (the zero padding past the last row).
float padding_value(const PackSource& x, std::int64_t first, int r) {
  return (x.ones_row && first + r == x.rows) ? 1.0f : 0.0f;
}

// Unit row stride (A stored transposed, or B row-major): depth step p of X is one
// contiguous run over all rows. Threads split the depth steps and every read streams
// along memory; walking a panel instead would touch one line per page, which the
// hardware prefetchers (that stop at page boundaries) cannot help.
template <int W>
void pack_unit_row_stride(const PackSource& x, int width, float* dst, Share share) {
  const int w = W > 0 ? W : width;
  const std::int64_t full_panels = x.rows / w;
  const int tail = static_cast<int>(x.rows % w);  // rows of data in the last panel
  const bool last_panel = tail > 0 || x.ones_row;
  const auto [first_p, last_p] = share_of(x.depth, share);
  for (std::int64_t p = first_p; p < last_p; ++p) {
    const float* column = x.data + p * x.col_stride;
    float* out = dst + p * w;
    for (std::int64_t q = 0; q < full_panels; ++q) {
      std::memcpy(out, column, w * sizeof(float));  // a few vector moves when W is known
      column += w;
      out += w * x.depth;
    }
    if (last_panel) {
      for (int r = 0; r < tail; ++r) out[r] = column[r];
      for (int r = tail; r < w; ++r) out[r] = padding_value(x, full_panels * w, r);
    }
  }
}

// dst[j * ld + i] = src[i * rs + j] for a 4 x 4 block: SSE is baseline on x86-64, so
// this needs no CPU check; elsewhere the compiler gets the plain loop.
inline void transpose_4x4(const float* src, std::int64_t rs, float* dst, std::int64_t ld) {
#if defined(__SSE__) || defined(_M_X64)
  __m128 row0 = _mm_loadu_ps(src);
  __m128 row1 = _mm_loadu_ps(src + rs);
  __m128 row2 = _mm_loadu_ps(src + 2 * rs);
  __m128 row3 = _mm_loadu_ps(src + 3 * rs);
  _MM_TRANSPOSE4_PS(row0, row1, row2, row3);
  _mm_storeu_ps(dst, row0);
  _mm_storeu_ps(dst + ld, row1);
  _mm_storeu_ps(dst + 2 * ld, row2);
  _mm_storeu_ps(dst + 3 * ld, row3);
#else
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) dst[j * ld + i] = src[i * rs + j];
#endif
}

// One full panel from W rows each contiguous along the depth: a transpose, done four
// rows at a time. Four streams, not W: rows of a matrix whose width is a multiple of
// 1024 floats are 4 KiB apart and all map to one L1 set, so W streams at once would
// evict each other's lines before using them (the 1024 and 2048 sizes of
// `gankit bench gemm` pack such matrices).
template <int W>
void transpose_rows_into_panel(const float* first_row, std::int64_t row_stride,
                               std::int64_t depth, float* out) {
  static_assert(W > 0, "the width must be known at compile time");
  const std::int64_t body = depth / 4 * 4;
  int r = 0;
  for (; r + 4 <= W; r += 4) {
    const float* rows = first_row + r * row_stride;
    for (std::int64_t p = 0; p < body; p += 4)
      transpose_4x4(rows + p, row_stride, out + p * W + r, W);
  }
  for (; r < W; ++r) {  // W % 4 leftover rows (W = 6: two)
    const float* row = first_row + r * row_stride;
    for (std::int64_t p = 0; p < body; ++p) out[p * W + r] = row[p];
  }
  for (r = 0; r < W; ++r) {  // depth % 4 leftover steps
    const float* row = first_row + r * row_stride;
    for (std::int64_t p = body; p < depth; ++p) out[p * W + r] = row[p];
  }
}

// Unit column stride (A row-major, or B stored transposed): each row of X is
// contiguous along the depth, so a panel reads W sequential streams. Threads split
// the panels.
template <int W>
void pack_unit_col_stride(const PackSource& x, int width, float* dst, Share share) {
  const int w = W > 0 ? W : width;
  const std::int64_t panels = ceil_div(x.packed_rows(), w);
  const auto [first_q, last_q] = share_of(panels, share);
  for (std::int64_t q = first_q; q < last_q; ++q) {
    const float* first_row = x.data + q * w * x.row_stride;
    float* out = dst + q * w * x.depth;
    const int lanes = static_cast<int>(std::clamp<std::int64_t>(x.rows - q * w, 0, w));
    if constexpr (W > 0) {
      if (lanes == W) {
        transpose_rows_into_panel<W>(first_row, x.row_stride, x.depth, out);
        continue;
      }
    }
    for (int r = 0; r < lanes; ++r) {
      const float* row = first_row + r * x.row_stride;
      for (std::int64_t p = 0; p < x.depth; ++p) out[p * w + r] = row[p];
    }
    for (int r = lanes; r < w; ++r) {
      const float value = padding_value(x, q * w, r);
      for (std::int64_t p = 0; p < x.depth; ++p) out[p * w + r] = value;
    }
  }
}

// Any other strides (views of sub-matrices with gaps): element by element.
template <int W>
void pack_strided(const PackSource& x, int width, float* dst, Share share) {
  const int w = W > 0 ? W : width;
  const std::int64_t panels = ceil_div(x.packed_rows(), w);
  const auto [first_q, last_q] = share_of(panels, share);
  for (std::int64_t q = first_q; q < last_q; ++q) {
    const float* first_row = x.data + q * w * x.row_stride;
    float* out = dst + q * w * x.depth;
    const int lanes = static_cast<int>(std::clamp<std::int64_t>(x.rows - q * w, 0, w));
    for (std::int64_t p = 0; p < x.depth; ++p) {
      for (int r = 0; r < lanes; ++r)
        out[p * w + r] = first_row[r * x.row_stride + p * x.col_stride];
      for (int r = lanes; r < w; ++r) out[p * w + r] = padding_value(x, q * w, r);
    }
  }
}

template <int W>
void pack_block_of_width(const PackSource& x, int width, float* dst, Share share) {
  if (x.row_stride == 1)
    pack_unit_row_stride<W>(x, width, dst, share);
  else if (x.col_stride == 1)
    pack_unit_col_stride<W>(x, width, dst, share);
  else
    pack_strided<W>(x, width, dst, share);
}

// body(std::integral_constant<int, W>) with W = width for the widths of the kernels we
// ship, so their loops have a compile-time length; W = 0 for any other.
template <typename Body>
void with_width(int width, Body body) {
  switch (width) {
    case 4: return body(std::integral_constant<int, 4>{});
    case 6: return body(std::integral_constant<int, 6>{});
    case 8: return body(std::integral_constant<int, 8>{});
    case 12: return body(std::integral_constant<int, 12>{});
    case 16: return body(std::integral_constant<int, 16>{});
    case 32: return body(std::integral_constant<int, 32>{});
    default: return body(std::integral_constant<int, 0>{});
  }
}

}  // namespace

void transpose_into_panel(const float* rows, int width, std::int64_t row_stride,
                          std::int64_t depth, float* out) {
  with_width(width, [&](auto known) {
    constexpr int W = decltype(known)::value;
    if constexpr (W > 0) {
      transpose_rows_into_panel<W>(rows, row_stride, depth, out);
    } else {
      for (int r = 0; r < width; ++r)
        for (std::int64_t p = 0; p < depth; ++p) out[p * width + r] = rows[r * row_stride + p];
    }
  });
}

void pack_block(const PackSource& x, int width, float* dst, Share share) {
  with_width(width, [&](auto known) { pack_block_of_width<decltype(known)::value>(x, width, dst, share); });
}

}  // namespace gemm_detail
}  // namespace gankit
