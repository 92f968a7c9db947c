#ifndef DATAGENERATOR_CRC32_FOLD_H
#define DATAGENERATOR_CRC32_FOLD_H
// Carry-less-multiply folding for the zlib CRC-32, which is otherwise the slowest step of a
// cache's first epoch (see Sources/DataGenerator/LowLevel/Checksums.swift for the measurements).

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU can run dg_crc32_fold (x86-64 with PCLMULQDQ), else 0.
int dg_crc32_fold_available(void);

/// Folds the first `blocks` 16-byte blocks of `data` (at least 4) into one 16-byte block written
/// to `folded`, so that the zlib CRC-32 of those bytes continuing from `crc` equals
/// zlib's crc32(0xFFFFFFFF, folded, 16).
///
/// `constants` are four reflected fold constants, x^n mod P for n = 575, 511 (fold by 64 bytes)
/// and 191, 127 (fold by 16 bytes), each bit-reversed into 64 bits; Checksums.swift computes them.
/// Returns 0, or -1 when `blocks` is below 4 (nothing is written then). The CPU is not checked
/// here: call it only where dg_crc32_fold_available() returned 1 (it would fault otherwise).
int dg_crc32_fold(uint32_t crc, const uint8_t *data, size_t blocks, const uint64_t constants[4],
                  uint8_t folded[16]);

#ifdef __cplusplus
}
#endif

#endif
