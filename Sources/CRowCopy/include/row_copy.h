#ifndef DATAGENERATOR_ROW_COPY_H
#define DATAGENERATOR_ROW_COPY_H
// Gathering rows by index with software prefetch (the resident fast path, and a hint for the
// per-row loops of the other column paths): see row_copy.c.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Copies `count` rows of `row_bytes` bytes each from `source` into `destination`, row
/// `rows[i]` to byte `i * row_bytes`, asking for the first lines of the row a few places ahead
/// while copying the current one. Every row must lie within the source, and `count` rows fit
/// in the destination (the caller checks both).
void dg_copy_rows(void *destination, const void *source, const intptr_t *rows, intptr_t count, intptr_t row_bytes);

/// How many rows ahead `dg_copy_rows` asks for a row; loops of their own that call
/// `dg_prefetch_row` use the same distance.
#define DG_ROWS_AHEAD 4

/// Asks for the first lines of the `row_bytes` bytes at `row` (as `dg_copy_rows` does for the row
/// `DG_ROWS_AHEAD` places ahead), for loops that locate or convert each row themselves. A hint
/// only: it never faults, whatever the address.
void dg_prefetch_row(const void *row, intptr_t row_bytes);

#ifdef __cplusplus
}
#endif

#endif
