#ifndef DATAGENERATOR_IMAGE_CODECS_H
#define DATAGENERATOR_IMAGE_CODECS_H
// JPEG (libjpeg-turbo's libjpeg API) and PNG (libpng) decoding for ImageDecoder.swift.
// Both libraries report errors by longjmp; every setjmp is here, in C, so a longjmp never crosses
// a Swift frame: each function returns 0 or -1 with a message in `info->message`.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What a header says, and after decoding, how the pixels were laid out.
typedef struct dg_image_info {
    /// Width and height in pixels, as stored (before any EXIF orientation).
    uint32_t width;
    uint32_t height;
    /// Samples per pixel that dg_*_decode writes: JPEG 1 (grey), 3 (RGB) or 4 (CMYK, with Adobe's
    /// inversion already undone); PNG 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA), 8 bits each
    /// (palettes expanded to RGB, 16-bit samples as v >> 8, 1/2/4-bit grey scaled to 8 bits).
    uint32_t components;
    /// Why the last call failed (NUL-terminated), when it returned -1.
    char message[160];
} dg_image_info;

/// Reads the header of the JPEG `data[0..<size]` into `info`; decodes no pixel.
int dg_jpeg_read_header(const uint8_t *data, size_t size, dg_image_info *info);

/// Decodes the JPEG into `out` (height x width x components bytes; `capacity` must be at least
/// that), with libjpeg's defaults: accurate integer IDCT and fancy upsampling. A file that ends
/// before its last scan is an error ("truncated"), never a partly grey image.
int dg_jpeg_decode(const uint8_t *data, size_t size, uint8_t *out, size_t capacity, dg_image_info *info);

/// Reads the header of the PNG `data[0..<size]` into `info`; decodes no pixel.
int dg_png_read_header(const uint8_t *data, size_t size, dg_image_info *info);

/// Decodes the PNG into `out` (height x width x components bytes), interlaced or not. A bad CRC
/// in any chunk, bad zlib data or a file that ends early is an error.
int dg_png_decode(const uint8_t *data, size_t size, uint8_t *out, size_t capacity, dg_image_info *info);

#ifdef __cplusplus
}
#endif

#endif
