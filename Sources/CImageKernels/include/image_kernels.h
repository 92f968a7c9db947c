#ifndef DATAGENERATOR_IMAGE_KERNELS_H
#define DATAGENERATOR_IMAGE_KERNELS_H
// The 3-channel resampling loops of ImageTransformKernel (Pillow's antialiased bilinear filter
// with 22-bit fixed-point coefficients), in C so that an AVX2 variant can be chosen at run time
// while the package is compiled for baseline x86-64. Both variants compute the same Int32 sums
// and the same float32 operations in the same order (no FMA contraction): their outputs are the
// same bits, on every CPU.
//
// It also holds the two passes of ImageResampler (the cache build's `--max-side` resize), whose
// output is interleaved and whose columns read any number of taps.
//
// Every pointer is sized by the caller (ImageTransformKernel.swift, ImageResampler.swift); nothing here allocates,
// and nothing reads or writes outside the ranges each function's contract states.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The portable C loops (any CPU).
#define DG_KERNEL_ISA_BASELINE 0
/// The AVX2 loops (x86-64 CPUs that have AVX2).
#define DG_KERNEL_ISA_AVX2 1

/// The variant the kernels run by default: DG_KERNEL_ISA_AVX2 when this CPU has AVX2, unless the
/// environment variable DATAGEN_KERNEL_ISA is `baseline`; else DG_KERNEL_ISA_BASELINE. Read once.
int dg_image_kernels_default_isa(void);

/// 1 when this CPU can run variant `isa`, else 0 (the baseline always can).
int dg_image_kernels_isa_available(int isa);

/// The horizontal pass of a 3-channel image whose columns all read `taps` (2, 3 or 4) pixels:
/// for each of `rows` source rows (row `y` at `source + y * source_row_bytes`, interleaved RGB)
/// writes `out_width` reds, then greens, then blues at `target + y * 3 * out_width`:
/// `min((2^21 + sum over t of pixel[starts[x] + 3t + c] * weights[x * taps + t]) >> 22, 255)`.
///
/// Contract: `starts` holds `out_width` byte offsets with `starts[x] + 3 * taps <= source_row_bytes`
/// and `starts[x] < 2^31`; `weights` holds `out_width * taps` non-negative coefficients (sums
/// then never go below 0) whose total per column is at most about 2^22 (sums fit 32 bits);
/// `scratch` holds `(4 * taps + 1) * out_width + 8` int32 (the AVX2 variant's weights spread
/// to vector lanes, and a flag per 8 columns);
/// `target` holds `rows * 3 * out_width` bytes. An unavailable `isa` runs the baseline.
void dg_rgb_horizontal_rows(int isa, const uint8_t *source, intptr_t source_row_bytes, intptr_t rows,
                            const intptr_t *starts, const int32_t *weights, intptr_t taps,
                            intptr_t out_width, int32_t *scratch, uint8_t *target);

/// The vertical pass of a 3-channel image after dg_rgb_horizontal_rows: `rows` holds planar rows
/// (row `r` of the horizontal pass at `rows + r * 3 * out_width`: its reds, greens, blues), the
/// first of which is source row `first_row`. Output row `y` reads `bounds[2y + 1]` rows from
/// source row `bounds[2y]` with `weights[y * taps ...]`; its value per channel is
/// `v = clamp((2^21 + sum) >> 22, 0, 255)`, written as uint8 when `mean_std` is NULL, else as
/// float32 `((float)v / 255 - mean[c]) / std[c]` with `mean_std = {mean0, std0, mean1, std1,
/// mean2, std2}`; channels first (three out_height × out_width planes) when `channels_first`
/// is non-zero, else interleaved rows of out_width × 3.
///
/// Contract: for every output row with `bounds[2y + 1] > 0`, source rows `bounds[2y]` ..<
/// `bounds[2y] + bounds[2y + 1]` lie in the rows held (from `first_row`); `bounds` holds
/// `2 * out_height` values and `weights` `out_height * taps`; `planes` holds `3 * out_width * 4`
/// bytes (used for channels last); `destination` holds `3 * out_width * out_height` elements
/// (1 or 4 bytes). An unavailable `isa` runs the baseline.
void dg_rgb_vertical(int isa, const uint8_t *rows, intptr_t first_row, intptr_t out_width, intptr_t out_height,
                     const intptr_t *bounds, const int32_t *weights, intptr_t taps,
                     const float *mean_std, int channels_first, void *planes, void *destination);

/// The horizontal pass of ImageResampler (the `--max-side` resize) on interleaved RGB: for each
/// of `rows` source rows (row `y` at `source + y * source_row_bytes`) writes `out_width` RGB
/// pixels to `target + y * 3 * out_width`, pixel `x`'s channel `c` being
/// `clamp((2^21 + sum over t < counts[x] of row[starts[x] + 3t + c] * weights[x * weight_stride + t]) >> 22, 0, 255)`
/// with wrapping int32 sums (Pillow's `int` arithmetic).
///
/// Contract: `starts` and `counts` hold `out_width` values each, with `starts[x] >= 0`,
/// `counts[x] >= 0` and `starts[x] + 3 * counts[x] <= source_row_bytes`; `weights` holds
/// `out_width * weight_stride` coefficients with `counts[x] <= weight_stride`, non-negative, and 0
/// from `counts[x]` to `weight_stride` (the AVX2 variant may add those zero terms); `source` holds
/// `rows * source_row_bytes` bytes (rows may be padded: `source_row_bytes >= 3 * width`);
/// `target` holds `rows * 3 * out_width` bytes. Nothing outside those ranges is read or written
/// (the AVX2 variant reads 4, 16 or 31 bytes from a pixel only where they lie inside the same row).
/// An unavailable `isa` runs the baseline.
void dg_resample_rgb_horizontal(int isa, const uint8_t *source, intptr_t source_row_bytes, intptr_t rows,
                                const intptr_t *starts, const intptr_t *counts, const int32_t *weights,
                                intptr_t weight_stride, intptr_t out_width, uint8_t *target);

/// The vertical pass of ImageResampler on rows of `row_bytes` interleaved bytes (any channel
/// count): output row `y` (at `target + y * row_bytes`) reads `counts[y]` rows from source row
/// `firsts[y]` (row `r` at `source + r * row_bytes`); its byte `i` is
/// `clamp((2^21 + sum over t of source[(firsts[y] + t) * row_bytes + i] * weights[y * weight_stride + t]) >> 22, 0, 255)`
/// with wrapping int32 sums.
///
/// Contract: `firsts` and `counts` hold `out_height` values, with `0 <= firsts[y]`,
/// `counts[y] <= weight_stride` and `firsts[y] + counts[y] <= in_height`; `source` holds
/// `in_height * row_bytes` bytes; `weights` holds `out_height * weight_stride` coefficients;
/// `target` holds `out_height * row_bytes` bytes. An unavailable `isa` runs the baseline.
void dg_resample_vertical(int isa, const uint8_t *source, intptr_t row_bytes, intptr_t in_height,
                          const intptr_t *firsts, const intptr_t *counts, const int32_t *weights,
                          intptr_t weight_stride, intptr_t out_height, uint8_t *target);

#ifdef __cplusplus
}
#endif

#endif
