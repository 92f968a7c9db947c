// See include/image_codecs.h. Every libjpeg / libpng call that can fail runs below a setjmp in
// this file; errors come back as -1 and a message, never as a longjmp into Swift.

#include "image_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

static int fail(dg_image_info *info, const char *message) {
    snprintf(info->message, sizeof info->message, "%s", message);
    return -1;
}

// MARK: - JPEG

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_error;

static void jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_error *error = (jpeg_error *)cinfo->err;
    error->manager.format_message(cinfo, error->message);
    longjmp(error->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo, int level) {
    // Warnings (corrupt-data recoveries such as extraneous bytes) are tolerated, as Pillow
    // tolerates them, except a scan that ends early: libjpeg would fill the rest of the image
    // with grey, and a truncated JPEG must be an error, never half an image.
    if (level < 0 && cinfo->err->msg_code == JWRN_HIT_MARKER) {
        jpeg_error *error = (jpeg_error *)cinfo->err;
        snprintf(error->message, sizeof error->message,
                 "truncated JPEG: its scan data end before the image does (premature end of data segment)");
        longjmp(error->jump, 1);
    }
}

// The memory source's fill_input_buffer inserts a fake end-of-image marker when the data run out,
// which would decode a truncated file to a partly grey image: here running out is an error.
static boolean jpeg_fill_truncated(j_decompress_ptr cinfo) {
    jpeg_error *error = (jpeg_error *)cinfo->err;
    snprintf(error->message, sizeof error->message, "truncated JPEG: the data end before the image does");
    longjmp(error->jump, 1);
    return FALSE;
}

static void jpeg_begin(struct jpeg_decompress_struct *cinfo, jpeg_error *error, const uint8_t *data, size_t size) {
    cinfo->err = jpeg_std_error(&error->manager);
    error->manager.error_exit = jpeg_error_exit;
    error->manager.emit_message = jpeg_quiet;
    error->message[0] = 0;
    jpeg_create_decompress(cinfo);
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    cinfo->src->fill_input_buffer = jpeg_fill_truncated;
}

static int jpeg_header(struct jpeg_decompress_struct *cinfo, dg_image_info *info) {
    if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) {
        snprintf(info->message, sizeof info->message, "JPEG without an image");
        return -1;
    }
    info->width = cinfo->image_width;
    info->height = cinfo->image_height;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        info->components = 1;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK;
        info->components = 4;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo->out_color_space = JCS_RGB;
        info->components = 3;
        break;
    default:
        snprintf(info->message, sizeof info->message, "JPEG with an unsupported colour space (%d components)",
                 cinfo->num_components);
        return -1;
    }
    return 0;
}

int dg_jpeg_read_header(const uint8_t *data, size_t size, dg_image_info *info) {
    struct jpeg_decompress_struct cinfo;
    jpeg_error error;
    memset(info, 0, sizeof *info);
    if (size == 0) return fail(info, "empty file");
    jpeg_begin(&cinfo, &error, data, size);
    if (setjmp(error.jump)) {
        snprintf(info->message, sizeof info->message, "%s", error.message);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    int status = jpeg_header(&cinfo, info);
    jpeg_destroy_decompress(&cinfo);
    return status;
}

int dg_jpeg_decode(const uint8_t *data, size_t size, uint8_t *out, size_t capacity, dg_image_info *info) {
    struct jpeg_decompress_struct cinfo;
    jpeg_error error;
    memset(info, 0, sizeof *info);
    if (size == 0) return fail(info, "empty file");
    jpeg_begin(&cinfo, &error, data, size);
    if (setjmp(error.jump)) {
        snprintf(info->message, sizeof info->message, "%s", error.message);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    if (jpeg_header(&cinfo, info) != 0) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    size_t stride = (size_t)info->width * info->components;
    if ((size_t)info->height > 0 && stride > capacity / info->height) {
        jpeg_destroy_decompress(&cinfo);
        return fail(info, "output buffer too small");
    }
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_width != info->width || cinfo.output_height != info->height ||
        (uint32_t)cinfo.output_components != info->components) {
        jpeg_destroy_decompress(&cinfo);
        return fail(info, "JPEG output differs from its header");
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + (size_t)cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (info->components == 4) {
        // Adobe writes CMYK inverted; Pillow reads every CMYK JPEG as inverted ("CMYK;I").
        size_t count = stride * info->height;
        for (size_t i = 0; i < count; i++) out[i] = (uint8_t)(255 - out[i]);
    }
    return 0;
}

// MARK: - PNG

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
    char message[160];
} png_source;

static void png_read_memory(png_structp png, png_bytep target, size_t length) {
    png_source *source = (png_source *)png_get_io_ptr(png);
    if (length > source->size - source->position) {
        png_error(png, "truncated PNG: the data end before the image does");
    }
    memcpy(target, source->data + source->position, length);
    source->position += length;
}

static void png_error_message(png_structp png, png_const_charp message) {
    png_source *source = (png_source *)png_get_error_ptr(png);
    snprintf(source->message, sizeof source->message, "%s", message);
    png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

// Reads the header and sets the transformations: palette to RGB, grey below 8 bits to 8,
// 16 bits to 8 (v >> 8), transparency chunks ignored (Pillow's convert("RGB") drops alpha).
static int png_header(png_structp png, png_infop pnginfo, dg_image_info *info) {
    png_read_info(png, pnginfo);
    png_uint_32 width = 0, height = 0;
    int depth = 0, color = 0, interlace = 0;
    png_get_IHDR(png, pnginfo, &width, &height, &depth, &color, &interlace, NULL, NULL);
    info->width = width;
    info->height = height;
    switch (color) {
    case PNG_COLOR_TYPE_GRAY: info->components = 1; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: info->components = 2; break;
    case PNG_COLOR_TYPE_RGB: info->components = 3; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: info->components = 4; break;
    case PNG_COLOR_TYPE_PALETTE: info->components = 3; break;
    default: png_error(png, "unsupported PNG colour type");
    }
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    if (interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
    png_read_update_info(png, pnginfo);
    // A palette's transparency (tRNS) comes out as an alpha channel: RGBA, whose alpha is dropped.
    info->components = png_get_channels(png, pnginfo);
    if (info->components < 1 || info->components > 4 || png_get_bit_depth(png, pnginfo) != 8) {
        png_error(png, "unexpected PNG layout after expansion");
    }
    return 0;
}

// The most bytes libpng may allocate for one ancillary chunk (or its decompressed text): no chunk
// can hold more than the file, so a header claiming a 1.5 GB eXIf chunk in a 72-byte file is
// refused instead of allocated (found by FuzzImageDecoders); 8 MiB at least, for compressed
// profiles and text, which are dropped with a warning when larger (pixels never need them).
static png_alloc_size_t png_chunk_limit(size_t size) {
    const size_t floor = 8u << 20;
    return (png_alloc_size_t)(size > floor ? size : floor);
}

static png_structp png_begin(png_source *source, png_infop *pnginfo) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, source, png_error_message, png_quiet);
    if (png == NULL) return NULL;
    *pnginfo = png_create_info_struct(png);
    if (*pnginfo == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        return NULL;
    }
    png_set_read_fn(png, source, png_read_memory);
    // Every chunk's CRC is checked, ancillary ones included, as Pillow checks them.
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    // Our own --max-pixels limit applies, checked on the header before any allocation.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_chunk_malloc_max(png, png_chunk_limit(source->size));
    // Ancillary chunks that do not change the stored pixels are skipped unread (their CRCs still
    // checked): libpng 1.6 allocates an eXIf chunk's claimed length without the limit above (a
    // 71-byte file claiming 1.5 GB, found by FuzzImageDecoders), and text and profiles are never
    // needed. The EXIF orientation is read by ExifOrientation.swift, bounds-checked.
    static const png_byte ignored[] =
        "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0sBIT\0sCAL\0sPLT\0sRGB\0tEXt\0tIME\0zTXt";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, ignored, (int)(sizeof ignored / 5));
    return png;
}

int dg_png_read_header(const uint8_t *data, size_t size, dg_image_info *info) {
    memset(info, 0, sizeof *info);
    if (size == 0) return fail(info, "empty file");
    png_source source = {data, size, 0, {0}};
    png_infop pnginfo = NULL;
    png_structp png = png_begin(&source, &pnginfo);
    if (png == NULL) return fail(info, "out of memory");
    if (setjmp(png_jmpbuf(png))) {
        snprintf(info->message, sizeof info->message, "%s", source.message);
        png_destroy_read_struct(&png, &pnginfo, NULL);
        return -1;
    }
    png_header(png, pnginfo, info);
    png_destroy_read_struct(&png, &pnginfo, NULL);
    return 0;
}

int dg_png_decode(const uint8_t *data, size_t size, uint8_t *out, size_t capacity, dg_image_info *info) {
    memset(info, 0, sizeof *info);
    if (size == 0) return fail(info, "empty file");
    png_source source = {data, size, 0, {0}};
    png_infop pnginfo = NULL;
    png_structp png = png_begin(&source, &pnginfo);
    if (png == NULL) return fail(info, "out of memory");
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        snprintf(info->message, sizeof info->message, "%s", source.message);
        free(rows);
        png_destroy_read_struct(&png, &pnginfo, NULL);
        return -1;
    }
    png_header(png, pnginfo, info);
    size_t stride = (size_t)info->width * info->components;
    if (info->height > 0 && stride > capacity / info->height) {
        png_destroy_read_struct(&png, &pnginfo, NULL);
        return fail(info, "output buffer too small");
    }
    rows = malloc(sizeof(png_bytep) * (info->height > 0 ? info->height : 1));
    if (rows == NULL) {
        png_destroy_read_struct(&png, &pnginfo, NULL);
        return fail(info, "out of memory");
    }
    for (uint32_t y = 0; y < info->height; y++) rows[y] = out + (size_t)y * stride;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &pnginfo, NULL);
    return 0;
}

// MARK: - JPEG: probing, encoding, region decoding (the jpeg image store)

int dg_jpeg_probe(const uint8_t *data, size_t size, dg_jpeg_layout *layout) {
    struct jpeg_decompress_struct cinfo;
    jpeg_error error;
    memset(layout, 0, sizeof *layout);
    if (size == 0) {
        snprintf(layout->message, sizeof layout->message, "empty file");
        return -1;
    }
    jpeg_begin(&cinfo, &error, data, size);
    if (setjmp(error.jump)) {
        snprintf(layout->message, sizeof layout->message, "%s", error.message);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
        snprintf(layout->message, sizeof layout->message, "JPEG without an image");
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    layout->width = cinfo.image_width;
    layout->height = cinfo.image_height;
    layout->color_space = (uint32_t)cinfo.jpeg_color_space;
    layout->progressive = cinfo.progressive_mode ? 1 : 0;
    layout->arithmetic = cinfo.arith_code ? 1 : 0;
    layout->precision = (uint32_t)cinfo.data_precision;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

void dg_jpeg_free(uint8_t *buffer) { free(buffer); }

int dg_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t components, int quality,
                   uint8_t **out, size_t *out_size, dg_image_info *info) {
    struct jpeg_compress_struct cinfo;
    jpeg_error error;
    memset(info, 0, sizeof *info);
    *out = NULL;
    *out_size = 0;
    if (components != 1 && components != 3) return fail(info, "a JPEG is encoded from 1 or 3 channels");
    if (width == 0 || height == 0 || width > 65500 || height > 65500) return fail(info, "a JPEG's sides are 1 to 65,500 pixels");
    if (quality < 1 || quality > 100) return fail(info, "JPEG quality must be 1 to 100");
    // Volatile: set before the setjmp and read after a longjmp.
    unsigned char *volatile buffer = NULL;
    unsigned long volatile length = 0;
    cinfo.err = jpeg_std_error(&error.manager);
    error.manager.error_exit = jpeg_error_exit;
    error.manager.emit_message = jpeg_quiet;
    error.message[0] = 0;
    if (setjmp(error.jump)) {
        snprintf(info->message, sizeof info->message, "%s", error.message);
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, (unsigned char **)&buffer, (unsigned long *)&length);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = (int)components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    // Standard Huffman tables, not optimised ones: optimising runs the entropy coder twice, in
    // plain C, and was a quarter of a jpeg@512 first pass (4,000 images: 6.2 -> 4.6 CPU-s, the
    // store 1.4% larger; docs/BENCHMARKS.md "The first pass at 512").
    cinfo.optimize_coding = FALSE;
    cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * components;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = buffer;
    *out_size = length;
    return 0;
}

size_t dg_jpeg_region_capacity(uint32_t width, uint32_t height, uint32_t components) {
    return ((size_t)width + 3 + 32) * (size_t)height * (size_t)components;
}

static int region_fail(dg_jpeg_region *region, struct jpeg_decompress_struct *cinfo, const char *message) {
    snprintf(region->message, sizeof region->message, "%s", message);
    jpeg_destroy_decompress(cinfo);
    return -1;
}

int dg_jpeg_decode_region(const uint8_t *data, size_t size, uint32_t scale_num, uint32_t x, uint32_t y,
                          uint32_t width, uint32_t height, uint8_t *out, size_t capacity, dg_jpeg_region *region) {
    struct jpeg_decompress_struct cinfo;
    jpeg_error error;
    dg_image_info info;
    memset(region, 0, sizeof *region);
    memset(&info, 0, sizeof info);
    if (size == 0) {
        snprintf(region->message, sizeof region->message, "empty file");
        return -1;
    }
    if (scale_num < 1 || scale_num > 8) {
        snprintf(region->message, sizeof region->message, "the scale is 1/8 to 8/8");
        return -1;
    }
    jpeg_begin(&cinfo, &error, data, size);
    if (setjmp(error.jump)) {
        snprintf(region->message, sizeof region->message, "%s", error.message);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    int header = jpeg_header(&cinfo, &info);
    region->image_width = info.width;
    region->image_height = info.height;
    region->components = info.components;
    if (header != 0) return region_fail(region, &cinfo, info.message);
    cinfo.scale_num = scale_num;
    cinfo.scale_denom = 8;
    jpeg_start_decompress(&cinfo);
    region->scaled_width = cinfo.output_width;
    region->scaled_height = cinfo.output_height;
    region->components = (uint32_t)cinfo.output_components;
    if (width == 0 || height == 0 || x > cinfo.output_width || width > cinfo.output_width - x ||
        y > cinfo.output_height || height > cinfo.output_height - y) {
        return region_fail(region, &cinfo, "the box does not lie inside the scaled image");
    }
    int whole = x == 0 && y == 0 && width == cinfo.output_width && height == cinfo.output_height;
    // The margin: one column more on the left, two on the right, inside the image.
    JDIMENSION xoffset = x > 0 ? x - 1 : 0;
    JDIMENSION end = width + x + 2 < cinfo.output_width ? width + x + 2 : cinfo.output_width;
    JDIMENSION cropped = end - xoffset;
    if (xoffset != 0 || cropped != cinfo.output_width) jpeg_crop_scanline(&cinfo, &xoffset, &cropped);
    size_t stride = (size_t)cropped * (size_t)cinfo.output_components;
    region->x = xoffset;
    region->y = y;
    region->width = cropped;
    region->height = height;
    if (stride > 0 && (size_t)height > capacity / stride) {
        snprintf(region->message, sizeof region->message, "output buffer too small");
        jpeg_destroy_decompress(&cinfo);
        return -2;
    }
    if (y > 0) {
        JDIMENSION skipped = jpeg_skip_scanlines(&cinfo, y);
        if (skipped != y) return region_fail(region, &cinfo, "could not skip to the box's first row");
    }
    for (uint32_t row = 0; row < height; row++) {
        JSAMPROW line = out + (size_t)row * stride;
        if (jpeg_read_scanlines(&cinfo, &line, 1) != 1) return region_fail(region, &cinfo, "the data end before the box does");
    }
    if (whole) {
        jpeg_finish_decompress(&cinfo);  // to the end marker: a file cut after its last row is an error
    } else {
        jpeg_abort_decompress(&cinfo);
    }
    jpeg_destroy_decompress(&cinfo);
    if (region->components == 4) {
        size_t count = stride * height;
        for (size_t i = 0; i < count; i++) out[i] = (uint8_t)(255 - out[i]);
    }
    return 0;
}

int dg_jpeg_transcode_baseline(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size, dg_image_info *info) {
    struct jpeg_decompress_struct source;
    struct jpeg_compress_struct target;
    jpeg_error error;  // one error manager for both objects, as libjpeg allows
    memset(info, 0, sizeof *info);
    *out = NULL;
    *out_size = 0;
    if (size == 0) return fail(info, "empty file");
    unsigned char *volatile buffer = NULL;
    unsigned long volatile length = 0;
    volatile int compressing = 0;
    jpeg_begin(&source, &error, data, size);
    if (setjmp(error.jump)) {
        snprintf(info->message, sizeof info->message, "%s", error.message);
        if (compressing) jpeg_destroy_compress(&target);
        jpeg_destroy_decompress(&source);
        free(buffer);
        return -1;
    }
    if (jpeg_read_header(&source, TRUE) != JPEG_HEADER_OK) {
        jpeg_destroy_decompress(&source);
        return fail(info, "JPEG without an image");
    }
    jvirt_barray_ptr *coefficients = jpeg_read_coefficients(&source);
    target.err = &error.manager;
    jpeg_create_compress(&target);
    compressing = 1;
    jpeg_copy_critical_parameters(&source, &target);  // sequential, Huffman: jpeg_set_defaults
    target.optimize_coding = TRUE;
    jpeg_mem_dest(&target, (unsigned char **)&buffer, (unsigned long *)&length);
    jpeg_write_coefficients(&target, coefficients);
    jpeg_finish_compress(&target);
    jpeg_destroy_compress(&target);
    compressing = 0;
    jpeg_finish_decompress(&source);
    jpeg_destroy_decompress(&source);
    *out = buffer;
    *out_size = length;
    return 0;
}
