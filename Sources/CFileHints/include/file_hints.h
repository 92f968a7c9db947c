#ifndef DATAGENERATOR_FILE_HINTS_H
#define DATAGENERATOR_FILE_HINTS_H
// Linux file calls that Swift's Glibc module leaves out (they need _GNU_SOURCE), for WritableFile.swift.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Starts writing the dirty pages of `count` bytes from `offset` of the file `fd` back to the disk
/// without waiting for them (Linux's sync_file_range with SYNC_FILE_RANGE_WRITE). Returns 0, or
/// -1 with errno set; elsewhere than Linux it does nothing and returns 0.
int dg_start_writeback(int fd, int64_t offset, int64_t count);

#ifdef __cplusplus
}
#endif

#endif
