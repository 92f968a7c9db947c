// The floor of a cached first epoch on this machine, with none of the engine's machinery: bare C
// doing only what any LZ4-per-row cache must do in its first epoch, against its own steady epoch.
//
//   first epoch:  for each row of a shuffled epoch, LZ4-decode the row into its place in a fresh
//                 huge-page buffer (the decoded column kept for later epochs), then copy it into
//                 the thread's batch buffer;
//   steady epoch: the same shuffled rows copied from the decoded buffer into the batch buffer.
//
// Batches of 128 rows are dealt round-robin to the threads. No CRC is checked and no per-row
// state is kept. What it bounds is the first epoch's extra work, first − steady (decoding and
// faulting in, less the copies' gain from rows just decoded): an engine's first epoch takes at
// least its own steady epoch plus that, so its ratio is at least 1 + extra / its steady epoch.
// (The floor's own ratio, first / steady, is not a bound for an engine: its steady epoch is a
// bare copy, faster than an engine's.) It also prints the two parts of the extra work: faulting
// in the fresh buffer (touching one byte per 4 KiB page) and decoding every row into a buffer
// already faulted in.
//
// Build and run through tools/first-epoch-floor, which compiles this file with the toolchain's
// clang against liblz4. Usage: first-epoch-floor <x.npy> [threads=2] [repeats=5] [level=1]
// (level 1: LZ4_compress_default, as the cache's codec lz4; 9: LZ4HC level 9, as lz4hc)
// (x.npy: a C-order 2-D array of any dtype, one row per record, e.g. tools/bench's float32 rows).

#include <lz4.h>
#include <lz4hc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

enum { batch_size = 128, max_threads = 64 };

static size_t row_count, row_bytes;
static char **compressed;
static int *compressed_bytes;
static size_t *order;
static char *decoded;
static int threads;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void fail(const char *message) {
    fprintf(stderr, "first-epoch-floor: %s\n", message);
    exit(1);
}

// Reads a version 1 or 2 .npy file's header: the row count and the bytes per row.
static char *read_npy(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) fail("cannot open the .npy file");
    unsigned char magic[10];
    if (fread(magic, 1, 10, file) != 10 || memcmp(magic, "\x93NUMPY", 6) != 0) fail("not a .npy file");
    size_t header_bytes = magic[8] | (size_t)magic[9] << 8;
    if (magic[6] == 2) {
        unsigned char more[2];
        if (fread(more, 1, 2, file) != 2) fail("truncated .npy header");
        header_bytes |= (size_t)more[0] << 16 | (size_t)more[1] << 24;
    } else if (magic[6] != 1) {
        fail("unsupported .npy version");
    }
    char *header = calloc(1, header_bytes + 1);
    if (fread(header, 1, header_bytes, file) != header_bytes) fail("truncated .npy header");
    if (strstr(header, "'fortran_order': True")) fail("Fortran-order arrays are not supported");
    const char *descr = strstr(header, "'descr': '");
    const char *shape = strstr(header, "'shape': (");
    if (!descr || !shape) fail("no descr or shape in the .npy header");
    size_t item_bytes = strtoul(descr + 12, NULL, 10);
    char *cursor = (char *)shape + 10;
    row_count = strtoul(cursor, &cursor, 10);
    row_bytes = item_bytes;
    while (*cursor == ',' || *cursor == ' ') {
        while (*cursor == ',' || *cursor == ' ') cursor++;
        if (*cursor == ')') break;
        row_bytes *= strtoul(cursor, &cursor, 10);
    }
    if (row_count == 0 || row_bytes == 0 || row_bytes > (1u << 30)) fail("need a non-empty 2-D array");
    char *data = malloc(row_count * row_bytes);
    if (!data || fread(data, row_bytes, row_count, file) != row_count) fail("truncated .npy data");
    fclose(file);
    free(header);
    return data;
}

// One thread's share of an epoch: batches thread, thread + threads, ...
static void *serve(void *argument) {
    int thread = (int)(intptr_t)argument & 0xff;
    int decode = (int)(intptr_t)argument >> 8;
    char *batch = aligned_alloc(64, batch_size * row_bytes);
    for (size_t start = (size_t)thread * batch_size; start < row_count; start += (size_t)threads * batch_size) {
        size_t end = start + batch_size < row_count ? start + batch_size : row_count;
        for (size_t position = start; position < end; position++) {
            size_t row = order[position];
            char *slot = decoded + row * row_bytes;
            if (decode && LZ4_decompress_safe(compressed[row], slot, compressed_bytes[row], (int)row_bytes) != (int)row_bytes)
                fail("a row does not decode");
            memcpy(batch + (position - start) * row_bytes, slot, row_bytes);
        }
        // The batch escapes (as if handed to a consumer), so the copies cannot be optimised away.
        __asm__ volatile("" : : "r"(batch) : "memory");
    }
    free(batch);
    return NULL;
}

// Decodes every row in order into the (already faulted-in) buffer: the decoding alone.
static void *decode_in_order(void *argument) {
    int thread = (int)(intptr_t)argument;
    for (size_t row = (size_t)thread; row < row_count; row += (size_t)threads)
        LZ4_decompress_safe(compressed[row], decoded + row * row_bytes, compressed_bytes[row], (int)row_bytes);
    return NULL;
}

// Touches one byte per 4 KiB page of this thread's share of a fresh buffer: the faults alone.
static void *touch(void *argument) {
    int thread = (int)(intptr_t)argument;
    size_t bytes = row_count * row_bytes, share = (bytes / threads + 4095) & ~(size_t)4095;
    for (size_t offset = (size_t)thread * share; offset < bytes && offset < (size_t)(thread + 1) * share; offset += 4096)
        decoded[offset] = 1;
    return NULL;
}

static double timed(void *(*body)(void *), int flag) {
    pthread_t workers[max_threads];
    double start = now();
    for (int thread = 1; thread < threads; thread++) pthread_create(&workers[thread], NULL, body, (void *)(intptr_t)(thread | flag));
    body((void *)(intptr_t)flag);
    for (int thread = 1; thread < threads; thread++) pthread_join(workers[thread], NULL);
    return now() - start;
}

static char *fresh_buffer(void) {
    char *buffer = mmap(NULL, row_count * row_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buffer == MAP_FAILED) fail("out of memory");
    madvise(buffer, row_count * row_bytes, MADV_HUGEPAGE);
    return buffer;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 2) fail("usage: first-epoch-floor <x.npy> [threads=2] [repeats=5] [level=1]");
    threads = argc > 2 ? atoi(argv[2]) : 2;
    int repeats = argc > 3 ? atoi(argv[3]) : 5;
    int level = argc > 4 ? atoi(argv[4]) : 1;
    if (threads < 1 || threads > max_threads || repeats < 1 || level < 1 || level > 12)
        fail("threads must be 1...64, repeats at least 1, level 1...12");
    char *rows = read_npy(argv[1]);

    // Each row its own LZ4 block, as the cache stores rows of 256 bytes and more.
    compressed = malloc(row_count * sizeof *compressed);
    compressed_bytes = malloc(row_count * sizeof *compressed_bytes);
    size_t stored = 0;
    for (size_t row = 0; row < row_count; row++) {
        int bound = LZ4_compressBound((int)row_bytes);
        compressed[row] = malloc((size_t)bound);
        compressed_bytes[row] = level == 1
            ? LZ4_compress_default(rows + row * row_bytes, compressed[row], (int)row_bytes, bound)
            : LZ4_compress_HC(rows + row * row_bytes, compressed[row], (int)row_bytes, bound, level);
        if (compressed_bytes[row] <= 0) fail("LZ4 compression failed");
        stored += (size_t)compressed_bytes[row];
    }
    free(rows);

    // A shuffled epoch: Fisher-Yates driven by SplitMix64, seed 7.
    order = malloc(row_count * sizeof *order);
    for (size_t row = 0; row < row_count; row++) order[row] = row;
    uint64_t state = 7;
    for (size_t i = row_count - 1; i > 0; i--) {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        size_t j = (size_t)(z % (i + 1)), kept = order[i];
        order[i] = order[j];
        order[j] = kept;
    }

    printf("%zu rows of %zu bytes, LZ4 level %d per row: %zu stored bytes (ratio %.2f), batches of %d, %d threads\n",
           row_count, row_bytes, level, stored, (double)(row_count * row_bytes) / (double)stored, batch_size, threads);
    double ratios[repeats], extras[repeats];
    for (int repeat = 0; repeat < repeats; repeat++) {
        decoded = fresh_buffer();
        double first = timed(serve, 1 << 8);
        double steadies[3];
        for (int epoch = 0; epoch < 3; epoch++) steadies[epoch] = timed(serve, 0);
        qsort(steadies, 3, sizeof *steadies, by_value);
        double decode = timed(decode_in_order, 0);
        munmap(decoded, row_count * row_bytes);
        decoded = fresh_buffer();
        double fault = timed(touch, 0);
        munmap(decoded, row_count * row_bytes);
        ratios[repeat] = first / steadies[1];
        extras[repeat] = first - steadies[1];
        printf("first epoch %.4f s, steady %.4f s (median of 3): ratio %.2f, extra %.4f s;  parts: faults alone %.4f s, decoding alone %.4f s\n",
               first, steadies[1], ratios[repeat], extras[repeat], fault, decode);
    }
    qsort(ratios, (size_t)repeats, sizeof *ratios, by_value);
    qsort(extras, (size_t)repeats, sizeof *extras, by_value);
    printf("median first / steady: %.2f; median extra work of the first epoch (first - steady): %.4f s\n",
           ratios[repeats / 2], extras[repeats / 2]);
    printf("an engine whose steady epoch takes S seconds needs at least 1 + %.4f / S steady epochs for open + first\n",
           extras[repeats / 2]);
    return 0;
}
