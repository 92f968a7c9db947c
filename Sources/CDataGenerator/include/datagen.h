/*
 * datagen.h: the C API of the DataGenerator engine (library product `CDataGenerator`).
 *
 * Reads cache files built by `datagen cache build` and serves batches, gathered and decompressed on
 * the engine's own worker threads, into buffers the caller owns. Built by
 *     swift build -c release -Xswiftc -static-stdlib --product CDataGenerator
 * the library needs only libc, libm, libstdc++ and libgcc_s at run time (plus liblz4, zlib and
 * libcrypto, which the cache reader uses).
 *
 * Conventions
 *  - Handles are opaque; every function taking one accepts only a live handle from this library.
 *  - Functions returning `int32_t` return a status: DG_OK (0), DG_END (1, an iterator has no more
 *    batches) or a negative DG_ERROR_* code; then dg_last_error() gives the message, naming the
 *    file, column, row or offset at fault, exactly as the `datagen` CLI prints it, and
 *    dg_last_error_kind() its DG_FAULT_* kind (not found, truncated, checksum, ...).
 *  - No call calls back into the caller; calls may block (waiting for a batch) and are meant to be
 *    made without holding an interpreter lock (Python's ctypes.CDLL releases the GIL).
 *  - A cache handle may be used from several threads at once (in a forked child, make its first use
 *    from one thread: that use reopens the file); an iterator from one thread at a time.
 *  - fork(): every handle records the process id at creation. Used in a child process, a cache
 *    reopens its mapping and an iterator recreates its worker threads at its current position (the
 *    parent's threads do not exist in the child); nothing relies on a thread or dispatch queue
 *    inherited from the parent.
 */
#ifndef DATAGEN_H
#define DATAGEN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DG_OK 0
#define DG_END 1
/* The file is missing, foreign, truncated, corrupt or of a newer version (a CacheError). */
#define DG_ERROR_CACHE (-1)
/* An invalid argument: shuffle mode, shard, batch size, row, column index, null pointer. */
#define DG_ERROR_ARGUMENT (-2)
/* A caller buffer is smaller than the batch needs (see dg_iterator_peek). */
#define DG_ERROR_BUFFER (-3)

/*
 * Fault kinds (dg_last_error_kind): what the last failed call met, finer than its status. A
 * DG_ERROR_CACHE status splits into the file's faults below; bindings map each onto an exception.
 */
#define DG_FAULT_NONE 0               /* no call on this thread has failed */
#define DG_FAULT_OTHER 1              /* any other failure of the call's status */
#define DG_FAULT_ARGUMENT 2           /* an invalid argument (status DG_ERROR_ARGUMENT) */
#define DG_FAULT_BUFFER 3             /* a caller buffer too small (status DG_ERROR_BUFFER) */
#define DG_FAULT_NOT_FOUND 4          /* the file does not exist (ENOENT) */
#define DG_FAULT_IO 5                 /* another system call failed on the file */
#define DG_FAULT_NOT_A_CACHE 6        /* empty, or no cache magic at the start */
#define DG_FAULT_TRUNCATED 7          /* starts like a cache but has no valid trailer */
#define DG_FAULT_UNSUPPORTED_VERSION 8 /* written in a newer format version */
#define DG_FAULT_CORRUPT 9            /* an offset, length or value breaks the format */
#define DG_FAULT_CHECKSUM 10          /* stored bytes do not match their CRC-32 */

/* Shuffle modes (docs/EPOCHS.md). */
#define DG_SHUFFLE_NONE 0
#define DG_SHUFFLE_FULL 1
#define DG_SHUFFLE_WINDOW 2

typedef struct dg_cache dg_cache;
typedef struct dg_iterator dg_iterator;
typedef struct dg_writer dg_writer;

/*
 * The message of the last failed call on the calling thread, copied NUL-terminated into `buffer`
 * (at most `capacity` bytes, truncated if longer). Returns the message's full length in bytes
 * (without the NUL); 0 when no call on this thread has failed.
 */
int64_t dg_last_error(char *buffer, int64_t capacity);

/* The fault kind (DG_FAULT_*) of the last failed call on the calling thread; DG_FAULT_NONE if none. */
int32_t dg_last_error_kind(void);

/*
 * Opens the cache file at `path` (UTF-8) and stores a new handle in `*cache`; a cache set manifest
 * (a path ending in ".dgset") opens as one cache of all its shards' rows, its shards opened and
 * checked as their rows are first read (errors name the shard). `memory_budget` bounds
 * the bytes of decompressed columns the engine keeps in memory (0: the library's default, half the
 * machine's memory; when the fixed-shape columns do not fit, rows are decompressed from the mapped
 * file each time). Checks the header, trailer, metadata and table locations (no row is read).
 */
int32_t dg_open(const char *path, int64_t memory_budget, dg_cache **cache);

/* Releases a cache handle (iterators made from it keep what they need alive). NULL is ignored. */
void dg_close(dg_cache *cache);

/*
 * The cache's schema and metadata as one JSON object, UTF-8, copied NUL-terminated into `buffer`
 * when `capacity` exceeds its length; `*length` receives the length in bytes (without the NUL).
 * Call with capacity 0 to learn the length. Keys: "rows", "fingerprint", "classes" (array or
 * null), "has_ids", "columns": [{"name", "role", "dtype", "shape" (the row's shape, a variable
 * first axis as null), "variable_length"}] in schema order (data columns, then the target). A cache
 * set adds "set": {"manifest", "shards": [{"path", "rows", "first_row", "fingerprint", "bytes"}]};
 * its "fingerprint" is the set's and "rows" the total.
 */
int32_t dg_info_json(dg_cache *cache, char *buffer, int64_t capacity, int64_t *length);

/* The id of `row` copied like dg_info_json; DG_ERROR_ARGUMENT when the rows have no ids. */
int32_t dg_row_id(dg_cache *cache, int64_t row, char *buffer, int64_t capacity, int64_t *length);

/* Checks every checksum, unit, table order and padding byte (`datagen cache verify`). */
int32_t dg_verify(dg_cache *cache);

/*
 * Cache sets. Writes the manifest `manifest_path` (UTF-8, ending in ".dgset") of a cache set of
 * `shard_count` shards, the cache files `shard_paths` in row order (global row 0 is the first
 * shard's row 0; shards with no rows are fine). Every shard is verified first (as dg_verify) and
 * must have the first shard's columns and label classes, and must lie in the manifest's folder or
 * below it (the manifest records paths relative to it). The manifest is written atomically (a
 * temporary file, fsync, rename, fsync of the folder). Returns DG_OK, or DG_ERROR_CACHE with
 * dg_last_error naming the shard at fault (its kind that of the shard's fault: DG_FAULT_NOT_FOUND
 * for a missing shard, ...), DG_ERROR_ARGUMENT (DG_FAULT_ARGUMENT) for shards whose schema or
 * classes differ, a shard outside the folder or listed twice, or no shards. dg_open opens the
 * manifest as one cache of the shards' rows (docs/FORMAT.md, "Cache sets").
 */
int32_t dg_set_create(const char *manifest_path, const char *const *shard_paths, int64_t shard_count);

/*
 * Creates an iterator over `epochs` epochs (-1: endless) starting at `epoch`, stored in `*iterator`.
 *  rows, row_count:  serve only these cache rows in this order (before the shuffle); rows == NULL
 *                    serves all rows.
 *  batch_size:       rows per batch (below 1: the whole epoch).
 *  shuffle, seed:    DG_SHUFFLE_* and its 64-bit seed; the same arguments give the same batches as
 *                    the Swift library, the CLI and the Python numpy backend.
 *  rank, world_size: this process's share of each epoch (rank r takes positions r, r + world_size,
 *                    …); the remainder is dropped, so ranks are disjoint and equal.
 *  drop_last:        non-zero drops each epoch's last partial batch.
 *  workers:          threads gathering batches ahead (0: on the caller's thread when asked).
 *  prefetch:         batches prepared ahead (0: twice the workers, at least 2).
 */
int32_t dg_iterator_create(dg_cache *cache, const int64_t *rows, int64_t row_count, int64_t batch_size,
                           int32_t shuffle, uint64_t seed, int64_t epoch, int64_t epochs, int64_t rank,
                           int64_t world_size, int32_t drop_last, int32_t workers, int32_t prefetch,
                           dg_iterator **iterator);

/* Batches in each epoch under the iterator's arguments. */
int64_t dg_iterator_batches_per_epoch(dg_iterator *iterator);

/*
 * Waits for the next batch without consuming it. Returns DG_END after the last batch. On DG_OK,
 * `*rows` receives the batch's row count and `longest[c]`, for each column c in schema order, the
 * length of the batch's longest row along the first axis of a variable-length column (the padded
 * length), or 0 for a fixed-shape column. `longest` may be NULL when no column is variable.
 */
int32_t dg_iterator_peek(dg_iterator *iterator, int64_t *rows, int64_t *longest);

/*
 * Copies the batch dg_iterator_peek announced (peeking first if needed) into the caller's buffers and
 * moves to the next batch. `buffers[c]` (capacity `capacities[c]` bytes) receives column c in C order:
 * rows × shape (a variable-length column: rows × longest × trailing shape, padded at the end with
 * zeros). `lengths[c]`, for a variable-length column, receives `rows` int64 lengths; it is ignored
 * (and may be NULL) for fixed-shape columns; `lengths` may be NULL when no column is variable.
 * Returns DG_ERROR_BUFFER (consuming nothing) when a buffer is too small.
 */
int32_t dg_iterator_fill(dg_iterator *iterator, void *const *buffers, const int64_t *capacities,
                         int64_t *const *lengths);

/*
 * The whole padded shape of column `column` (schema order) of the batch dg_iterator_peek
 * announced: rows, then each dimension (for a variable-shape column, such as images, the batch's
 * largest along every axis; rows are padded with zeros at the end of each axis). Writes up to
 * `capacity` int64 values to `dimensions` (1 + the column's rank are needed). For a variable-shape
 * column, dg_iterator_fill's `lengths[c]` must point to rows × rank int64: each row's own shape.
 */
int32_t dg_iterator_peek_shape(dg_iterator *iterator, int32_t column, int64_t *dimensions, int32_t capacity);

/*
 * Ring mode: batches are written by the iterator's workers straight into `slots` sets of caller-owned
 * buffers, ahead of dg_iterator_next_slot, with no copy. `buffers[s * C + c]` (capacity
 * `capacities[s * C + c]` bytes, at least batch_size rows of column c) is column c of slot s, for C
 * columns in schema order. Needs at least workers + 2 slots (3 without workers) and fixed-shape
 * columns only, a transformed image column counting as fixed (use dg_iterator_peek/fill for
 * variable-length columns). Consecutive batches land in
 * consecutive slots (after the last slot, the first); dg_iterator_next_slot says which. After this call, dg_iterator_peek and dg_iterator_fill are refused. Calling it
 * again (after dg_iterator_seek, say) replaces every slot. The buffers must stay valid until the
 * iterator is freed or the slot is replaced.
 */
int32_t dg_iterator_attach(dg_iterator *iterator, int32_t slots, void *const *buffers, const int64_t *capacities);

/*
 * Ring mode: waits for the next batch and consumes it. On DG_OK, `*slot` is the slot holding it and
 * `*rows` its row count (column c fills the first rows × row bytes of its buffer). The slots of the
 * last two batches delivered stay the caller's: the call that delivers batch k hands the slot of
 * batch k - 2 back to the workers. To keep a batch, give its slot new buffers with
 * dg_iterator_replace_slot while it is held. Returns DG_END after the last batch.
 */
int32_t dg_iterator_next_slot(dg_iterator *iterator, int32_t *slot, int64_t *rows);

/*
 * Ring mode: gives `slot`, one of the two dg_iterator_next_slot returned last, new buffers
 * (`buffers[c]`, `capacities[c]` for each column c); the old ones keep their batch and are never
 * written again.
 */
int32_t dg_iterator_replace_slot(dg_iterator *iterator, int32_t slot, void *const *buffers,
                                 const int64_t *capacities);

/*
 * Image transforms (docs/EPOCHS.md, "Image transforms"). Serves data column `column` (schema order;
 * a variable-shape uint8 image column, [height, width, channels]) through the transform `spec`
 * (UTF-8, e.g. "random-resized-crop(224),flip,normalize(imagenet),chw"), run by the iterator's
 * workers every epoch, keyed by (seed, epoch, row id): the column then has one shape for every row
 * (uint8, or float32 when the spec normalises; no padding, no row shapes), so ring mode accepts it.
 * Call before the first dg_iterator_peek/fill/attach; DG_ERROR_ARGUMENT (kind DG_FAULT_ARGUMENT)
 * for a spec that does not parse (the message names the character position and what was
 * expected), a column that is not an image column, or a call after the first batch.
 */
int32_t dg_iterator_set_transform(dg_iterator *iterator, int32_t column, const char *spec);
/*
 * The columns as the iterator serves them, after any transform, as one JSON array copied like
 * dg_info_json: [{"name", "role", "dtype", "shape" (a row's shape, a variable first axis as null),
 * "variable_length", "row_shape" (variable-shape columns only), "transform" (the spec or null)}]
 * in schema order, so that a caller can allocate its buffers.
 */
int32_t dg_iterator_columns_json(dg_iterator *iterator, char *buffer, int64_t capacity, int64_t *length);
/* Moves the iterator to batch `index` of `epoch` (the run continues from there). */
int32_t dg_iterator_seek(dg_iterator *iterator, int64_t epoch, int64_t index);

/* The epoch and index of the batch the next dg_iterator_peek returns. */
int32_t dg_iterator_position(dg_iterator *iterator, int64_t *epoch, int64_t *index);

/* Stops the iterator's threads and releases it. NULL is ignored. */
void dg_iterator_free(dg_iterator *iterator);

/*
 * Writing a cache: the same writer as `datagen cache build` (the same bytes for the same groups).
 * The caller encodes the records, cut into row groups of `rows_per_group` consecutive records, and
 * puts the groups in order; an interrupted write (a crash, dg_writer_abort) resumes after the last
 * group written. A writer is used from one thread at a time.
 *
 * Opens a writer of the cache at `path`: takes the lock `path.lock` (DG_ERROR_CACHE naming it when
 * another writer holds it), opens `path.partial` and its journal, and keeps the groups an earlier
 * run of the same build wrote. `schema_json` gives the columns and options (docs/FORMAT.md,
 * "Writing a cache through the C API"); `rows_digest` is the caller's SHA-256 (hex) of its
 * inputs, which the fingerprint is made of with the columns' encoder identities and specs. On
 * DG_OK, `*writer` is the new handle and `*groups_done` the number of groups already written: the
 * index of the next group to put. DG_ERROR_ARGUMENT for a schema that is not valid.
 */
int32_t dg_writer_open(const char *path, const char *schema_json, const char *rows_digest, dg_writer **writer,
                       int64_t *groups_done);

/*
 * Puts row group `group` (it must be the next one): the records [group * rows_per_group, ...) of
 * which those listed in `skipped_json` are left out (NULL or "[]" for none; else a JSON array of
 * {"row": R, "id": "..." or null, "reason": "..."}, rows in ascending order). For each column in
 * schema order, `buffers[c]` holds the kept rows' bytes, `sizes[c]` bytes: a fixed column's rows
 * one after another (rows × the row's bytes); a variable-length column's rows one after another,
 * `lengths[c]` pointing to each kept row's length along its first axis (int64; `lengths` may be
 * NULL when no column is variable-length, and `lengths[c]` is NULL for fixed columns). The rows are
 * packed into units, compressed and checksummed here, written and journaled before the call
 * returns. DG_ERROR_ARGUMENT (nothing written) when the group is out of order or its buffers do
 * not fit the schema.
 */
int32_t dg_writer_put_group(dg_writer *writer, int64_t group, const void *const *buffers, const int64_t *sizes,
                            const int64_t *const *lengths, const char *skipped_json);

/*
 * Publishes the cache once every group is put: writes the index and the metadata, syncs and renames
 * `path.partial` over `path`, removes the journal and the lock. `ids` (NULL: rows without ids)
 * holds one UTF-8 id per record of the input, skipped ones included, one after another, their byte
 * lengths in `id_lengths`; `classes_json` (NULL: none) is a JSON array of the target's label
 * classes. The handle is released whatever the result; after a failure the journal stays for a
 * resume.
 */
int32_t dg_writer_finish(dg_writer *writer, const char *ids, const int64_t *id_lengths, const char *classes_json);

/*
 * Stops writing without publishing: the partial file and its journal stay for a resume (open the
 * same path with the same schema and digest), the lock is released and the handle too. NULL is
 * ignored.
 */
void dg_writer_abort(dg_writer *writer);

#ifdef __cplusplus
}
#endif

#endif /* DATAGEN_H */
