#ifndef DATAGENERATOR_ROW_COPY_H
#define DATAGENERATOR_ROW_COPY_H
// Gathering rows of a resident column by index, with software prefetch: see row_copy.c.

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

#ifdef __cplusplus
}
#endif

#endif
