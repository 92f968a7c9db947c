// CRC-32 folding with carry-less multiplication (x86-64 PCLMULQDQ).
//
// Written for DataGenerator from the algebra in the comments below: the message is a polynomial
// over GF(2) whose first bit is its highest term; a 16-byte block A loaded little-endian holds
// terms x^127 (bit 0) ... x^0 (bit 127). Moving A forward by D bits means A·x^D mod P, and with
// A = L·x^64 + H (L the low 64 bits) that is L·(x^(D+64) mod P) + H·(x^D mod P). PCLMULQDQ on
// such bit-reversed operands yields the product divided by x, so the constants are
// x^(D+63) mod P and x^(D-1) mod P.

#include "crc32_fold.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

int dg_crc32_fold_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}

__attribute__((target("pclmul,sse4.1")))
static inline __m128i fold(__m128i value, __m128i constants) {
    __m128i low = _mm_clmulepi64_si128(value, constants, 0x00);
    __m128i high = _mm_clmulepi64_si128(value, constants, 0x11);
    return _mm_xor_si128(low, high);
}

__attribute__((target("pclmul,sse4.1")))
static int fold_pclmul(uint32_t crc, const uint8_t *data, size_t blocks, const uint64_t constants[4],
                       uint8_t folded[16]) {
    const __m128i by64 = _mm_set_epi64x((long long)constants[1], (long long)constants[0]);
    const __m128i by16 = _mm_set_epi64x((long long)constants[3], (long long)constants[2]);
    const __m128i *in = (const __m128i *)data;
    __m128i x0 = _mm_loadu_si128(in + 0);
    __m128i x1 = _mm_loadu_si128(in + 1);
    __m128i x2 = _mm_loadu_si128(in + 2);
    __m128i x3 = _mm_loadu_si128(in + 3);
    // zlib's running value is the complement of the register; it enters at the first 32 bits.
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)~crc));
    size_t index = 4;
    for (; index + 4 <= blocks; index += 4) {
        x0 = _mm_xor_si128(fold(x0, by64), _mm_loadu_si128(in + index + 0));
        x1 = _mm_xor_si128(fold(x1, by64), _mm_loadu_si128(in + index + 1));
        x2 = _mm_xor_si128(fold(x2, by64), _mm_loadu_si128(in + index + 2));
        x3 = _mm_xor_si128(fold(x3, by64), _mm_loadu_si128(in + index + 3));
    }
    x1 = _mm_xor_si128(fold(x0, by16), x1);
    x2 = _mm_xor_si128(fold(x1, by16), x2);
    x3 = _mm_xor_si128(fold(x2, by16), x3);
    for (; index < blocks; index++) {
        x3 = _mm_xor_si128(fold(x3, by16), _mm_loadu_si128(in + index));
    }
    _mm_storeu_si128((__m128i *)folded, x3);
    return 0;
}

int dg_crc32_fold(uint32_t crc, const uint8_t *data, size_t blocks, const uint64_t constants[4],
                  uint8_t folded[16]) {
    if (blocks < 4) return -1;
    return fold_pclmul(crc, data, blocks, constants, folded);
}

#else

int dg_crc32_fold_available(void) { return 0; }

int dg_crc32_fold(uint32_t crc, const uint8_t *data, size_t blocks, const uint64_t constants[4],
                  uint8_t folded[16]) {
    (void)crc; (void)data; (void)blocks; (void)constants; (void)folded;
    return -1;
}

#endif
