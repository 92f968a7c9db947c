#include "row_copy.h"

#include <string.h>

// Rows gathered by a random index are latency-bound, not bandwidth-bound: each row starts with
// a miss to memory that the hardware prefetcher cannot foresee, since the next row is anywhere.
// The index of a whole batch is known before its first copy, so the first lines of the row four
// places ahead are asked for while the current row is copied, overlapping those misses.
//
// Measured on the MNIST-like column (rows of 3,136 bytes, 188 MB, in 2 MiB pages), one thread,
// 30 alternating pairs against a plain memcpy per row: 8 lines 4 rows ahead 1.10-1.14x; 4 or 16
// lines, or 2-3 rows ahead, about the same; every line of the row (49) 0.99-1.01x, since that
// many requests crowd out the copy's own. docs/BENCHMARKS.md, "Prefetching the rows ahead".
enum { rows_ahead = DG_ROWS_AHEAD, lines_ahead = 8, line_bytes = 64 };

static inline void prefetch_start(const char *row, intptr_t row_bytes) {
    intptr_t span = row_bytes < lines_ahead * line_bytes ? row_bytes : lines_ahead * line_bytes;
    for (intptr_t offset = 0; offset < span; offset += line_bytes) {
        __builtin_prefetch(row + offset, 0, 3);
    }
}

void dg_prefetch_row(const void *row, intptr_t row_bytes) {
    prefetch_start((const char *)row, row_bytes);
}

void dg_copy_rows(void *destination, const void *source, const intptr_t *rows, intptr_t count, intptr_t row_bytes) {
    const char *base = (const char *)source;
    char *target = (char *)destination;
    for (intptr_t i = 0; i < count && i < rows_ahead; i++) {
        prefetch_start(base + rows[i] * row_bytes, row_bytes);
    }
    for (intptr_t i = 0; i < count; i++) {
        if (i + rows_ahead < count) {
            prefetch_start(base + rows[i + rows_ahead] * row_bytes, row_bytes);
        }
        memcpy(target + i * row_bytes, base + rows[i] * row_bytes, (size_t)row_bytes);
    }
}
