// The 3-channel resampling loops of ImageTransformKernel: a baseline variant in portable C and
// an AVX2 variant (x86-64), chosen once at run time. See include/image_kernels.h for each
// function's contract. Both variants compute the same wrapping Int32 sums (integer addition is
// associative, so the order of taps does not matter) and the same float32 operations in the same
// order; contraction into FMA is off, so no compiler may fuse the normalisation's subtract and
// divide differently on another machine.

#include "image_kernels.h"

#include <stdlib.h>
#include <string.h>

#pragma clang fp contract(off)
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__)
#include <immintrin.h>
#define DG_HAVE_AVX2_VARIANT 1
#else
#define DG_HAVE_AVX2_VARIANT 0
#endif

enum { precision_bits = 22, half = 1 << (precision_bits - 1) };

static int detect_isa(void) {
    const char *forced = getenv("DATAGEN_KERNEL_ISA");
    if (forced != NULL && strcmp(forced, "baseline") == 0) return DG_KERNEL_ISA_BASELINE;
    return dg_image_kernels_isa_available(DG_KERNEL_ISA_AVX2) ? DG_KERNEL_ISA_AVX2 : DG_KERNEL_ISA_BASELINE;
}

int dg_image_kernels_default_isa(void) {
    static int chosen = -1;
    int isa = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (isa < 0) {
        isa = detect_isa();
        __atomic_store_n(&chosen, isa, __ATOMIC_RELAXED);
    }
    return isa;
}

int dg_image_kernels_isa_available(int isa) {
    if (isa == DG_KERNEL_ISA_BASELINE) return 1;
#if DG_HAVE_AVX2_VARIANT
    if (isa == DG_KERNEL_ISA_AVX2) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    }
#endif
    return 0;
}

static inline int32_t clamp_value(int32_t sum) {
    int32_t shifted = sum >> precision_bits;
    return shifted < 0 ? 0 : (shifted > 255 ? 255 : shifted);
}

// MARK: Baseline

/// `columns` columns of one row, written to the three planes.
static inline __attribute__((always_inline)) void
horizontal_row_baseline(const uint8_t *row, const intptr_t *starts, const int32_t *weights, intptr_t taps,
                        intptr_t columns, uint8_t *red, uint8_t *green, uint8_t *blue) {
    for (intptr_t x = 0; x < columns; x++) {
        const uint8_t *pixel = row + starts[x];
        const int32_t *weight = weights + x * taps;
        uint32_t r = half, g = half, b = half;
        for (intptr_t t = 0; t < taps; t++) {
            uint32_t w = (uint32_t)weight[t];
            r += pixel[3 * t] * w;
            g += pixel[3 * t + 1] * w;
            b += pixel[3 * t + 2] * w;
        }
        // As the Swift kernel: the weights are never negative, so only the top needs clipping.
        int32_t rs = (int32_t)r >> precision_bits, gs = (int32_t)g >> precision_bits, bs = (int32_t)b >> precision_bits;
        red[x] = (uint8_t)(rs < 255 ? rs : 255);
        green[x] = (uint8_t)(gs < 255 ? gs : 255);
        blue[x] = (uint8_t)(bs < 255 ? bs : 255);
    }
}

static void horizontal_baseline(const uint8_t *source, intptr_t source_row_bytes, intptr_t rows,
                                const intptr_t *starts, const int32_t *weights, intptr_t taps,
                                intptr_t out_width, uint8_t *target) {
    for (intptr_t y = 0; y < rows; y++) {
        const uint8_t *row = source + y * source_row_bytes;
        uint8_t *out = target + y * 3 * out_width;
        if (taps == 2) horizontal_row_baseline(row, starts, weights, 2, out_width, out, out + out_width, out + 2 * out_width);
        else if (taps == 3) horizontal_row_baseline(row, starts, weights, 3, out_width, out, out + out_width, out + 2 * out_width);
        else if (taps == 4) horizontal_row_baseline(row, starts, weights, 4, out_width, out, out + out_width, out + 2 * out_width);
        else horizontal_row_baseline(row, starts, weights, taps, out_width, out, out + out_width, out + 2 * out_width);
    }
}

static inline float normalised(int32_t value, float mean, float std) {
    return ((float)value / 255.0f - mean) / std;
}

/// One channel's values of one output row at `x0..<out_width`, written from `x0`: two loops
/// (bytes, floats) without a branch inside, which the compiler vectorises.
static inline __attribute__((always_inline)) void
vertical_channel_baseline(const uint8_t *restrict base, intptr_t row_bytes, intptr_t count, const int32_t *restrict w,
                          intptr_t x0, intptr_t out_width, const float *mean_std, void *target) {
    if (mean_std) {
        float *restrict floats = target;
        const float mean = mean_std[0], std = mean_std[1];
        for (intptr_t x = x0; x < out_width; x++) {
            uint32_t sum = half;
            for (intptr_t t = 0; t < count; t++) sum += base[t * row_bytes + x] * (uint32_t)w[t];
            floats[x] = normalised(clamp_value((int32_t)sum), mean, std);
        }
    } else {
        uint8_t *restrict bytes = target;
        for (intptr_t x = x0; x < out_width; x++) {
            uint32_t sum = half;
            for (intptr_t t = 0; t < count; t++) sum += base[t * row_bytes + x] * (uint32_t)w[t];
            bytes[x] = (uint8_t)clamp_value((int32_t)sum);
        }
    }
}

static void interleave(const void *planes, intptr_t out_width, int converts, void *target) {
    if (converts) {
        const float *p = planes;
        float *out = target;
        for (intptr_t x = 0; x < out_width; x++) {
            out[3 * x] = p[x];
            out[3 * x + 1] = p[out_width + x];
            out[3 * x + 2] = p[2 * out_width + x];
        }
    } else {
        const uint8_t *p = planes;
        uint8_t *out = target;
        for (intptr_t x = 0; x < out_width; x++) {
            out[3 * x] = p[x];
            out[3 * x + 1] = p[out_width + x];
            out[3 * x + 2] = p[2 * out_width + x];
        }
    }
}

/// Where channel `c` of output row `y` goes: the output's plane, or the row's planes to be
/// interleaved.
static inline void *channel_target(intptr_t c, intptr_t y, intptr_t out_width, intptr_t out_height, int converts,
                                   int channels_first, void *planes, void *destination) {
    intptr_t element = converts ? 4 : 1;
    if (channels_first) return (char *)destination + (c * out_width * out_height + y * out_width) * element;
    return (char *)planes + c * out_width * element;
}

static void vertical_baseline(const uint8_t *rows, intptr_t first_row, intptr_t out_width, intptr_t out_height,
                              const intptr_t *bounds, const int32_t *weights, intptr_t taps,
                              const float *mean_std, int channels_first, void *planes, void *destination) {
    intptr_t row_bytes = 3 * out_width;
    int converts = mean_std != NULL;
    for (intptr_t y = 0; y < out_height; y++) {
        intptr_t count = bounds[2 * y + 1];
        intptr_t first = count > 0 ? bounds[2 * y] - first_row : 0;
        const int32_t *w = weights + y * taps;
        for (intptr_t c = 0; c < 3; c++) {
            const uint8_t *base = rows + first * row_bytes + c * out_width;
            void *target = channel_target(c, y, out_width, out_height, converts, channels_first, planes, destination);
            const float *ms = converts ? mean_std + 2 * c : NULL;
            if (count == 1) vertical_channel_baseline(base, row_bytes, 1, w, 0, out_width, ms, target);
            else if (count == 2) vertical_channel_baseline(base, row_bytes, 2, w, 0, out_width, ms, target);
            else if (count == 3) vertical_channel_baseline(base, row_bytes, 3, w, 0, out_width, ms, target);
            else if (count == 4) vertical_channel_baseline(base, row_bytes, 4, w, 0, out_width, ms, target);
            else vertical_channel_baseline(base, row_bytes, count, w, 0, out_width, ms, target);
        }
        if (!channels_first)
            interleave(planes, out_width, converts, (char *)destination + y * row_bytes * (converts ? 4 : 1));
    }
}

// MARK: AVX2


#if DG_HAVE_AVX2_VARIANT

#define AVX2 __attribute__((target("avx2")))

/// Eight int32 in 0...255 (or clamped there by saturation) as eight bytes.
static inline AVX2 __m128i bytes_of(__m256i values) {
    __m256i words = _mm256_packus_epi32(values, values);
    __m256i bytes = _mm256_packus_epi16(words, words);
    return _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));
}

/// The sums of two columns (their R, G, B and a zero in each 128-bit lane) over `taps` taps:
/// each column's 16 bytes from its first pixel, spread to 32-bit lanes per tap by a shuffle.
static inline __attribute__((always_inline)) AVX2 __m256i
column_pair_avx2(const uint8_t *row, const intptr_t *starts, intptr_t x, const int32_t *expanded, intptr_t taps) {
    __m256i pixels = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(row + starts[x]))),
                                             _mm_loadu_si128((const __m128i *)(row + starts[x + 1])), 1);
    __m256i sum = _mm256_set1_epi32(half);
    for (intptr_t t = 0; t < taps; t++) {
        const char z = -1, a = (char)(3 * t);
        __m256i spread = _mm256_shuffle_epi8(pixels, _mm256_setr_epi8(a, z, z, z, a + 1, z, z, z, a + 2, z, z, z, z, z, z, z,
                                                                      a, z, z, z, a + 1, z, z, z, a + 2, z, z, z, z, z, z, z));
        __m256i w = _mm256_load_si256((const __m256i *)(expanded + ((x >> 1) * taps + t) * 8));
        sum = _mm256_add_epi32(sum, _mm256_mullo_epi32(spread, w));
    }
    return _mm256_srai_epi32(sum, precision_bits);
}

/// One row's columns, eight at a time where no column's 16-byte load passes the row's end
/// (`safe[x / 8]`), the rest as the baseline.
static inline __attribute__((always_inline)) AVX2 void
horizontal_row_avx2(const uint8_t *row, const intptr_t *starts, const int32_t *weights, const int32_t *expanded,
                    const uint8_t *safe, intptr_t taps, intptr_t out_width, uint8_t *target) {
    uint8_t *red = target, *green = target + out_width, *blue = target + 2 * out_width;
    // Per 128-bit lane after packing: the R of four columns, their G, their B, then zeros.
    const __m256i group = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, -1, -1, -1, -1,
                                           0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, -1, -1, -1, -1);
    intptr_t x = 0;
    for (; x + 8 <= out_width; x += 8) {
        if (!safe[x >> 3]) {
            horizontal_row_baseline(row, starts + x, weights + x * taps, taps, 8, red + x, green + x, blue + x);
            continue;
        }
        __m256i c01 = column_pair_avx2(row, starts, x, expanded, taps);
        __m256i c23 = column_pair_avx2(row, starts, x + 2, expanded, taps);
        __m256i c45 = column_pair_avx2(row, starts, x + 4, expanded, taps);
        __m256i c67 = column_pair_avx2(row, starts, x + 6, expanded, taps);
        // Sums are never negative here, so packing with saturation is min(value, 255).
        // Lanes: [c0 c2 c4 c6 | c1 c3 c5 c7], 4 bytes (R G B 0) each.
        __m256i bytes = _mm256_packus_epi16(_mm256_packus_epi32(c01, c23), _mm256_packus_epi32(c45, c67));
        bytes = _mm256_shuffle_epi8(bytes, group);
        __m128i even = _mm256_castsi256_si128(bytes), odd = _mm256_extracti128_si256(bytes, 1);
        __m128i rg = _mm_unpacklo_epi8(even, odd), b = _mm_unpackhi_epi8(even, odd);
        _mm_storel_epi64((__m128i *)(red + x), rg);
        _mm_storeh_pd((double *)(green + x), _mm_castsi128_pd(rg));
        _mm_storel_epi64((__m128i *)(blue + x), b);
    }
    if (x < out_width)
        horizontal_row_baseline(row, starts + x, weights + x * taps, taps, out_width - x, red + x, green + x, blue + x);
}

static AVX2 void horizontal_avx2(const uint8_t *source, intptr_t source_row_bytes, intptr_t rows,
                                 const intptr_t *starts, const int32_t *weights, intptr_t taps,
                                 intptr_t out_width, int32_t *scratch, uint8_t *target) {
    // Each pair of columns' weights per tap as 8 lanes (4 × the first column's, 4 × the second's),
    // 32-byte aligned, then a flag per 8 columns.
    int32_t *expanded = (int32_t *)(((uintptr_t)scratch + 31) & ~(uintptr_t)31);
    uint8_t *safe = (uint8_t *)(expanded + (out_width / 2) * taps * 8);
    for (intptr_t x = 0; x + 1 < out_width; x += 2)
        for (intptr_t t = 0; t < taps; t++)
            for (int lane = 0; lane < 8; lane++)
                expanded[((x >> 1) * taps + t) * 8 + lane] = weights[(x + (lane >> 2)) * taps + t];
    for (intptr_t block = 0; block < out_width / 8; block++) {
        safe[block] = 1;
        for (intptr_t x = 8 * block; x < 8 * block + 8; x++)
            if (starts[x] + 16 > source_row_bytes) safe[block] = 0;
    }
    for (intptr_t y = 0; y < rows; y++) {
        const uint8_t *row = source + y * source_row_bytes;
        uint8_t *out = target + y * 3 * out_width;
        if (taps == 2) horizontal_row_avx2(row, starts, weights, expanded, safe, 2, out_width, out);
        else if (taps == 3) horizontal_row_avx2(row, starts, weights, expanded, safe, 3, out_width, out);
        else horizontal_row_avx2(row, starts, weights, expanded, safe, 4, out_width, out);
    }
}

/// One channel of one output row: eight columns at a time, the rest as the baseline.
static inline __attribute__((always_inline)) AVX2 void
vertical_channel_avx2(const uint8_t *base, intptr_t row_bytes, intptr_t count, const int32_t *w,
                      intptr_t out_width, const float *mean_std, uint8_t *bytes, float *floats) {
    intptr_t x = 0;
    if (mean_std) {
        const __m256 scale = _mm256_set1_ps(255.0f);
        const __m256 mean = _mm256_set1_ps(mean_std[0]);
        const __m256 std = _mm256_set1_ps(mean_std[1]);
        const __m256i zero = _mm256_setzero_si256(), top = _mm256_set1_epi32(255);
        for (; x + 8 <= out_width; x += 8) {
            __m256i sum = _mm256_set1_epi32(half);
            for (intptr_t t = 0; t < count; t++) {
                __m256i p = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(base + t * row_bytes + x)));
                sum = _mm256_add_epi32(sum, _mm256_mullo_epi32(p, _mm256_set1_epi32(w[t])));
            }
            __m256i value = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(sum, precision_bits), zero), top);
            __m256 f = _mm256_div_ps(_mm256_sub_ps(_mm256_div_ps(_mm256_cvtepi32_ps(value), scale), mean), std);
            // Normal stores: non-temporal ones (_mm256_stream_ps) served 2-3 times fewer
            // images/s end to end, the batch being read again soon after.
            _mm256_storeu_ps(floats + x, f);
        }
    } else {
        for (; x + 8 <= out_width; x += 8) {
            __m256i sum = _mm256_set1_epi32(half);
            for (intptr_t t = 0; t < count; t++) {
                __m256i p = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(base + t * row_bytes + x)));
                sum = _mm256_add_epi32(sum, _mm256_mullo_epi32(p, _mm256_set1_epi32(w[t])));
            }
            // Packing with saturation clamps to 0...255.
            _mm_storel_epi64((__m128i *)(bytes + x), bytes_of(_mm256_srai_epi32(sum, precision_bits)));
        }
    }
    vertical_channel_baseline(base, row_bytes, count, w, x, out_width, mean_std, mean_std ? (void *)floats : (void *)bytes);
}

static AVX2 void vertical_avx2(const uint8_t *rows, intptr_t first_row, intptr_t out_width, intptr_t out_height,
                               const intptr_t *bounds, const int32_t *weights, intptr_t taps,
                               const float *mean_std, int channels_first, void *planes, void *destination) {
    intptr_t row_bytes = 3 * out_width;
    int converts = mean_std != NULL;
    for (intptr_t y = 0; y < out_height; y++) {
        intptr_t count = bounds[2 * y + 1];
        intptr_t first = count > 0 ? bounds[2 * y] - first_row : 0;
        const int32_t *w = weights + y * taps;
        for (intptr_t c = 0; c < 3; c++) {
            const uint8_t *base = rows + first * row_bytes + c * out_width;
            void *target = channel_target(c, y, out_width, out_height, converts, channels_first, planes, destination);
            const float *ms = converts ? mean_std + 2 * c : NULL;
            if (count == 1) vertical_channel_avx2(base, row_bytes, 1, w, out_width, ms, target, target);
            else if (count == 2) vertical_channel_avx2(base, row_bytes, 2, w, out_width, ms, target, target);
            else if (count == 3) vertical_channel_avx2(base, row_bytes, 3, w, out_width, ms, target, target);
            else if (count == 4) vertical_channel_avx2(base, row_bytes, 4, w, out_width, ms, target, target);
            else vertical_channel_avx2(base, row_bytes, count, w, out_width, ms, target, target);
        }
        if (!channels_first)
            interleave(planes, out_width, converts, (char *)destination + y * row_bytes * (converts ? 4 : 1));
    }
}

#endif

// MARK: ImageResampler, baseline

/// One row's RGB pixels of the resampler's horizontal pass, interleaved.
static void resample_row_baseline(const uint8_t *row, const intptr_t *starts, const intptr_t *counts,
                                  const int32_t *weights, intptr_t weight_stride, intptr_t out_width, uint8_t *out) {
    for (intptr_t x = 0; x < out_width; x++) {
        const uint8_t *pixel = row + starts[x];
        const int32_t *weight = weights + x * weight_stride;
        uint32_t r = half, g = half, b = half;
        for (intptr_t t = 0; t < counts[x]; t++) {
            uint32_t w = (uint32_t)weight[t];
            r += pixel[3 * t] * w;
            g += pixel[3 * t + 1] * w;
            b += pixel[3 * t + 2] * w;
        }
        out[3 * x] = (uint8_t)clamp_value((int32_t)r);
        out[3 * x + 1] = (uint8_t)clamp_value((int32_t)g);
        out[3 * x + 2] = (uint8_t)clamp_value((int32_t)b);
    }
}

/// Two rows at once, so that each weight is loaded once for both.
static void resample_row_pair_baseline(const uint8_t *rowA, const uint8_t *rowB, const intptr_t *starts,
                                       const intptr_t *counts, const int32_t *weights, intptr_t weight_stride,
                                       intptr_t out_width, uint8_t *outA, uint8_t *outB) {
    for (intptr_t x = 0; x < out_width; x++) {
        const uint8_t *a = rowA + starts[x], *b = rowB + starts[x];
        const int32_t *weight = weights + x * weight_stride;
        uint32_t a0 = half, a1 = half, a2 = half, b0 = half, b1 = half, b2 = half;
        for (intptr_t t = 0; t < counts[x]; t++) {
            uint32_t w = (uint32_t)weight[t];
            a0 += a[3 * t] * w;
            a1 += a[3 * t + 1] * w;
            a2 += a[3 * t + 2] * w;
            b0 += b[3 * t] * w;
            b1 += b[3 * t + 1] * w;
            b2 += b[3 * t + 2] * w;
        }
        outA[3 * x] = (uint8_t)clamp_value((int32_t)a0);
        outA[3 * x + 1] = (uint8_t)clamp_value((int32_t)a1);
        outA[3 * x + 2] = (uint8_t)clamp_value((int32_t)a2);
        outB[3 * x] = (uint8_t)clamp_value((int32_t)b0);
        outB[3 * x + 1] = (uint8_t)clamp_value((int32_t)b1);
        outB[3 * x + 2] = (uint8_t)clamp_value((int32_t)b2);
    }
}

static void resample_horizontal_baseline(const uint8_t *source, intptr_t source_row_bytes, intptr_t rows,
                                         const intptr_t *starts, const intptr_t *counts, const int32_t *weights,
                                         intptr_t weight_stride, intptr_t out_width, uint8_t *target) {
    intptr_t y = 0;
    for (; y + 1 < rows; y += 2) {
        const uint8_t *rowA = source + y * source_row_bytes;
        uint8_t *outA = target + y * 3 * out_width;
        resample_row_pair_baseline(rowA, rowA + source_row_bytes, starts, counts, weights, weight_stride, out_width,
                                   outA, outA + 3 * out_width);
    }
    if (y < rows)
        resample_row_baseline(source + y * source_row_bytes, starts, counts, weights, weight_stride, out_width,
                              target + y * 3 * out_width);
}

/// Sums a row at a time into a block of 512 columns on the stack: loops without a branch inside,
/// which the compiler vectorises.
static void resample_vertical_baseline(const uint8_t *source, intptr_t row_bytes, const intptr_t *firsts,
                                       const intptr_t *counts, const int32_t *weights, intptr_t weight_stride,
                                       intptr_t out_height, uint8_t *target) {
    enum { block = 512 };
    uint32_t sums[block];
    for (intptr_t y = 0; y < out_height; y++) {
        const uint8_t *base = source + firsts[y] * row_bytes;
        const int32_t *w = weights + y * weight_stride;
        intptr_t count = counts[y];
        uint8_t *out = target + y * row_bytes;
        for (intptr_t i0 = 0; i0 < row_bytes; i0 += block) {
            intptr_t n = row_bytes - i0 < block ? row_bytes - i0 : block;
            for (intptr_t i = 0; i < n; i++) sums[i] = half;
            for (intptr_t t = 0; t < count; t++) {
                const uint8_t *restrict row = base + t * row_bytes + i0;
                uint32_t weight = (uint32_t)w[t];
                for (intptr_t i = 0; i < n; i++) sums[i] += row[i] * weight;
            }
            for (intptr_t i = 0; i < n; i++) out[i0 + i] = (uint8_t)clamp_value((int32_t)sums[i]);
        }
    }
}

#if DG_HAVE_AVX2_VARIANT

// MARK: ImageResampler, AVX2

/// A pixel's three bytes in the low 24 bits: four bytes read when `wide` (the fourth is in the
/// row), else three.
static inline __attribute__((always_inline)) uint32_t pixel_bits(const uint8_t *p, int wide) {
    uint32_t v;
    if (wide) {
        memcpy(&v, p, 4);
    } else {
        v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
    }
    return v;
}

/// `sum` plus `taps` (at most 5) pixels of `pixels` spread by `spreads[t]`, times `weight[t]`.
static inline __attribute__((always_inline)) AVX2 __m256i
spread_taps(__m256i sum, __m256i pixels, const __m256i *spreads, const int32_t *weight, intptr_t taps) {
    for (intptr_t t = 0; t < taps; t++) {
        __m256i spread = _mm256_shuffle_epi8(pixels, spreads[t]);
        sum = _mm256_add_epi32(sum, _mm256_mullo_epi32(spread, _mm256_set1_epi32(weight[t])));
    }
    return sum;
}

/// Two rows at once: each column's R, G, B (and a lane ignored) of row A in the low 128 bits,
/// of row B in the high 128 bits, both multiplied by the same broadcast weight per tap. With at
/// most 10 weights a column, columns whose 16 (or 31) bytes lie in the row load them at once and
/// run all the weights (zero past the column's count); the others read a pixel at a time.
static AVX2 void resample_horizontal_avx2(const uint8_t *source, intptr_t source_row_bytes, intptr_t rows,
                                          const intptr_t *starts, const intptr_t *counts, const int32_t *weights,
                                          intptr_t weight_stride, intptr_t out_width, uint8_t *target) {
    const __m256i rounding = _mm256_set1_epi32(half);
    __m256i spreads[5];
    for (int t = 0; t < 5; t++) {
        const char z = -1, p = (char)(3 * t);
        spreads[t] = _mm256_setr_epi8(p, z, z, z, p + 1, z, z, z, p + 2, z, z, z, z, z, z, z,
                                      p, z, z, z, p + 1, z, z, z, p + 2, z, z, z, z, z, z, z);
    }
    intptr_t y = 0;
    for (; y + 1 < rows; y += 2) {
        const uint8_t *rowA = source + y * source_row_bytes, *rowB = rowA + source_row_bytes;
        uint8_t *outA = target + y * 3 * out_width, *outB = outA + 3 * out_width;
        for (intptr_t x = 0; x < out_width; x++) {
            const intptr_t count = counts[x], start = starts[x];
            const int32_t *weight = weights + x * weight_stride;
            const uint8_t *a = rowA + start, *b = rowB + start;
            __m256i sum = rounding;
            intptr_t t = 0;
            if (weight_stride <= 5 && start + 16 <= source_row_bytes) {
                // Up to 5 pixels in one 16-byte load a row, spread to 32-bit lanes per tap by a
                // shuffle; all `weight_stride` taps, those past `count` weighing 0.
                __m256i pixels = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)a)),
                                                         _mm_loadu_si128((const __m128i *)b), 1);
                if (weight_stride == 5) sum = spread_taps(sum, pixels, spreads, weight, 5);
                else if (weight_stride == 3) sum = spread_taps(sum, pixels, spreads, weight, 3);
                else sum = spread_taps(sum, pixels, spreads, weight, weight_stride);
                t = count;
            } else if (weight_stride <= 10 && start + 31 <= source_row_bytes) {
                // 6 to 10 weights (reductions of 2.5 to 4.5): pixels 0-4 from the first 16 bytes,
                // 5-9 from the 16 bytes at 15.
                __m256i pixels = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)a)),
                                                         _mm_loadu_si128((const __m128i *)b), 1);
                __m256i more = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(a + 15))),
                                                       _mm_loadu_si128((const __m128i *)(b + 15)), 1);
                sum = spread_taps(sum, pixels, spreads, weight, 5);
                if (weight_stride == 7) sum = spread_taps(sum, more, spreads, weight + 5, 2);
                else if (weight_stride == 9) sum = spread_taps(sum, more, spreads, weight + 5, 4);
                else sum = spread_taps(sum, more, spreads, weight + 5, weight_stride - 5);
                t = count;
            }
            for (; t + 1 < count; t++) {
                __m128i both = _mm_insert_epi32(_mm_cvtsi32_si128((int)pixel_bits(a + 3 * t, 1)),
                                                (int)pixel_bits(b + 3 * t, 1), 1);
                __m256i wide = _mm256_cvtepu8_epi32(both);
                sum = _mm256_add_epi32(sum, _mm256_mullo_epi32(wide, _mm256_set1_epi32(weight[t])));
            }
            if (t < count) {
                const int fits = start + 3 * count + 1 <= source_row_bytes;
                __m128i both = _mm_insert_epi32(_mm_cvtsi32_si128((int)pixel_bits(a + 3 * t, fits)),
                                                (int)pixel_bits(b + 3 * t, fits), 1);
                __m256i wide = _mm256_cvtepu8_epi32(both);
                sum = _mm256_add_epi32(sum, _mm256_mullo_epi32(wide, _mm256_set1_epi32(weight[t])));
            }
            // Values >> 22 lie in -512...511: the two saturating packs clamp them to 0...255.
            __m256i shifted = _mm256_srai_epi32(sum, precision_bits);
            __m256i words = _mm256_packus_epi32(shifted, shifted);
            __m256i bytes = _mm256_packus_epi16(words, words);
            uint32_t pixelA = (uint32_t)_mm_cvtsi128_si32(_mm256_castsi256_si128(bytes));
            uint32_t pixelB = (uint32_t)_mm_cvtsi128_si32(_mm256_extracti128_si256(bytes, 1));
            if (x + 1 < out_width) {
                // The fourth byte lands on the next pixel's red, written next.
                memcpy(outA + 3 * x, &pixelA, 4);
                memcpy(outB + 3 * x, &pixelB, 4);
            } else {
                outA[3 * x] = (uint8_t)pixelA;
                outA[3 * x + 1] = (uint8_t)(pixelA >> 8);
                outA[3 * x + 2] = (uint8_t)(pixelA >> 16);
                outB[3 * x] = (uint8_t)pixelB;
                outB[3 * x + 1] = (uint8_t)(pixelB >> 8);
                outB[3 * x + 2] = (uint8_t)(pixelB >> 16);
            }
        }
    }
    if (y < rows)
        resample_row_baseline(source + y * source_row_bytes, starts, counts, weights, weight_stride, out_width,
                              target + y * 3 * out_width);
}

/// Eight bytes from `p` as eight int32, times `w`, added to `sum`.
static inline __attribute__((always_inline)) AVX2 __m256i
accumulate8(__m256i sum, const uint8_t *p, __m256i w) {
    __m256i values = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
    return _mm256_add_epi32(sum, _mm256_mullo_epi32(values, w));
}

static AVX2 void resample_vertical_avx2(const uint8_t *source, intptr_t row_bytes, const intptr_t *firsts,
                                        const intptr_t *counts, const int32_t *weights, intptr_t weight_stride,
                                        intptr_t out_height, uint8_t *target) {
    const __m256i rounding = _mm256_set1_epi32(half);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (intptr_t y = 0; y < out_height; y++) {
        const uint8_t *base = source + firsts[y] * row_bytes;
        const int32_t *w = weights + y * weight_stride;
        const intptr_t count = counts[y];
        uint8_t *out = target + y * row_bytes;
        intptr_t i = 0;
        for (; i + 32 <= row_bytes; i += 32) {
            __m256i s0 = rounding, s1 = rounding, s2 = rounding, s3 = rounding;
            for (intptr_t t = 0; t < count; t++) {
                const uint8_t *p = base + t * row_bytes + i;
                __m256i weight = _mm256_set1_epi32(w[t]);
                s0 = accumulate8(s0, p, weight);
                s1 = accumulate8(s1, p + 8, weight);
                s2 = accumulate8(s2, p + 16, weight);
                s3 = accumulate8(s3, p + 24, weight);
            }
            __m256i words01 = _mm256_packus_epi32(_mm256_srai_epi32(s0, precision_bits), _mm256_srai_epi32(s1, precision_bits));
            __m256i words23 = _mm256_packus_epi32(_mm256_srai_epi32(s2, precision_bits), _mm256_srai_epi32(s3, precision_bits));
            __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(words01, words23), order);
            _mm256_storeu_si256((__m256i *)(out + i), bytes);
        }
        for (; i + 8 <= row_bytes; i += 8) {
            __m256i s = rounding;
            for (intptr_t t = 0; t < count; t++) s = accumulate8(s, base + t * row_bytes + i, _mm256_set1_epi32(w[t]));
            _mm_storel_epi64((__m128i *)(out + i), bytes_of(_mm256_srai_epi32(s, precision_bits)));
        }
        for (; i < row_bytes; i++) {
            uint32_t sum = half;
            for (intptr_t t = 0; t < count; t++) sum += base[t * row_bytes + i] * (uint32_t)w[t];
            out[i] = (uint8_t)clamp_value((int32_t)sum);
        }
    }
}

#endif

// MARK: Dispatch

void dg_rgb_horizontal_rows(int isa, const uint8_t *source, intptr_t source_row_bytes, intptr_t rows,
                            const intptr_t *starts, const int32_t *weights, intptr_t taps,
                            intptr_t out_width, int32_t *scratch, uint8_t *target) {
#if DG_HAVE_AVX2_VARIANT
    if (isa == DG_KERNEL_ISA_AVX2 && taps >= 2 && taps <= 4 && dg_image_kernels_isa_available(isa)) {
        horizontal_avx2(source, source_row_bytes, rows, starts, weights, taps, out_width, scratch, target);
        return;
    }
#endif
    (void)isa;
    (void)scratch;
    horizontal_baseline(source, source_row_bytes, rows, starts, weights, taps, out_width, target);
}

void dg_rgb_vertical(int isa, const uint8_t *rows, intptr_t first_row, intptr_t out_width, intptr_t out_height,
                     const intptr_t *bounds, const int32_t *weights, intptr_t taps,
                     const float *mean_std, int channels_first, void *planes, void *destination) {
#if DG_HAVE_AVX2_VARIANT
    if (isa == DG_KERNEL_ISA_AVX2 && dg_image_kernels_isa_available(isa)) {
        vertical_avx2(rows, first_row, out_width, out_height, bounds, weights, taps, mean_std, channels_first,
                      planes, destination);
        return;
    }
#endif
    (void)isa;
    vertical_baseline(rows, first_row, out_width, out_height, bounds, weights, taps, mean_std, channels_first,
                      planes, destination);
}

void dg_resample_rgb_horizontal(int isa, const uint8_t *source, intptr_t source_row_bytes, intptr_t rows,
                                const intptr_t *starts, const intptr_t *counts, const int32_t *weights,
                                intptr_t weight_stride, intptr_t out_width, uint8_t *target) {
#if DG_HAVE_AVX2_VARIANT
    if (isa == DG_KERNEL_ISA_AVX2 && dg_image_kernels_isa_available(isa)) {
        resample_horizontal_avx2(source, source_row_bytes, rows, starts, counts, weights, weight_stride, out_width,
                                 target);
        return;
    }
#endif
    (void)isa;
    resample_horizontal_baseline(source, source_row_bytes, rows, starts, counts, weights, weight_stride, out_width,
                                 target);
}

void dg_resample_vertical(int isa, const uint8_t *source, intptr_t row_bytes, intptr_t in_height,
                          const intptr_t *firsts, const intptr_t *counts, const int32_t *weights,
                          intptr_t weight_stride, intptr_t out_height, uint8_t *target) {
    (void)in_height;
#if DG_HAVE_AVX2_VARIANT
    if (isa == DG_KERNEL_ISA_AVX2 && dg_image_kernels_isa_available(isa)) {
        resample_vertical_avx2(source, row_bytes, firsts, counts, weights, weight_stride, out_height, target);
        return;
    }
#endif
    (void)isa;
    resample_vertical_baseline(source, row_bytes, firsts, counts, weights, weight_stride, out_height, target);
}
