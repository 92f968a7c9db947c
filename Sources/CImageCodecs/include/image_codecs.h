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

/// A JPEG's coding, as its header says (dg_jpeg_probe), for deciding whether it is stored as it is.
typedef struct dg_jpeg_layout {
    /// Width and height in pixels, as stored.
    uint32_t width;
    uint32_t height;
    /// libjpeg's J_COLOR_SPACE of the file: 1 grey, 2 RGB, 3 YCbCr, 4 CMYK, 5 YCCK.
    uint32_t color_space;
    /// 1 when the file is progressive, else 0.
    uint32_t progressive;
    /// 1 when the file uses arithmetic coding, else 0.
    uint32_t arithmetic;
    /// Bits per sample (8 for every file this decoder reads).
    uint32_t precision;
    /// Why the call failed (NUL-terminated), when it returned -1.
    char message[160];
} dg_jpeg_layout;

/// Reads the header of the JPEG `data[0..<size]` into `layout`; decodes no pixel.
int dg_jpeg_probe(const uint8_t *data, size_t size, dg_jpeg_layout *layout);

/// Compresses `pixels` (height x width x components bytes, components 1 (grey) or 3 (RGB)) as a
/// baseline JFIF JPEG at `quality` (1...100) with libjpeg's defaults (4:2:0 chroma, accurate
/// integer DCT, standard Huffman tables). On success `*out` is a malloc'd buffer of `*out_size`
/// bytes that the caller releases with dg_jpeg_free. The same pixels always give the same bytes.
int dg_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t components, int quality,
                   uint8_t **out, size_t *out_size, dg_image_info *info);

/// Rewrites the JPEG `data[0..<size]` (progressive or arithmetic-coded) as a baseline Huffman JPEG
/// with optimised tables, losslessly: its DCT coefficients are copied (as jpegtran does), so it
/// decodes to the same pixels, faster, and DCT scaling helps it. Markers other than JFIF/Adobe are
/// dropped. On success `*out` is a malloc'd buffer (dg_jpeg_free) of `*out_size` bytes.
int dg_jpeg_transcode_baseline(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size, dg_image_info *info);

/// Releases a buffer dg_jpeg_encode returned.
void dg_jpeg_free(uint8_t *buffer);

/// Where dg_jpeg_decode_region put what it decoded.
typedef struct dg_jpeg_region {
    /// The image's size as its header says (full scale); set once the header is read, so also
    /// when a later step fails.
    uint32_t image_width;
    uint32_t image_height;
    /// The whole image's size at the scale used (libjpeg's output_width / output_height).
    uint32_t scaled_width;
    uint32_t scaled_height;
    /// The decoded rectangle, in scaled pixels: columns x ..< x + width, rows y ..< y + height.
    /// It holds the requested box; x may be smaller and width larger (the margin, iMCU boundaries).
    uint32_t x;
    uint32_t y;
    uint32_t width;
    uint32_t height;
    /// Samples per pixel written (as dg_image_info.components: 1, 3, or 4 for CMYK, un-inverted);
    /// set once the header is read.
    uint32_t components;
    /// Why the call failed (NUL-terminated), when it returned -1 or -2.
    char message[160];
} dg_jpeg_region;

/// Decodes only the box (x, y, width, height), given in pixels of the image scaled by
/// scale_num / 8 (scale_num 1 ... 8; libjpeg-turbo's DCT scaling), reading the header once, using
/// jpeg_crop_scanline for the columns and jpeg_skip_scanlines for the rows above the box. The
/// columns decoded are the box's with one more on the left and two more on the right (inside the
/// image), widened to an iMCU boundary on the left: fancy upsampling treats a crop's first
/// column and its last ones as image edges, so they can differ from the full decode's, and the
/// box's columns are then never those (measured: every box of a grid equals the full decode,
/// 4:2:0, 4:2:2, 4:4:4, grey, CMYK, baseline and progressive, at every scale). Writes
/// region->height rows of region->width x region->components bytes into `out`. The rows below
/// the box are not decoded, so damage there goes unnoticed; damage in the box is an error. A box
/// that is the whole image is read to the end marker, as dg_jpeg_decode reads it.
/// Returns 0, -1 on an error, or -2 when `capacity` is too small for the decoded rectangle
/// (region->width, region->height and region->components then say how large it is).
int dg_jpeg_decode_region(const uint8_t *data, size_t size, uint32_t scale_num, uint32_t x, uint32_t y,
                          uint32_t width, uint32_t height, uint8_t *out, size_t capacity, dg_jpeg_region *region);

/// The capacity dg_jpeg_decode_region needs at most for a box `width` pixels wide and `height`
/// rows high of an image with `components` samples per pixel: the margin of three columns, and
/// the crop's widening to an iMCU boundary (at most 32 pixels at full scale).
size_t dg_jpeg_region_capacity(uint32_t width, uint32_t height, uint32_t components);

#ifdef __cplusplus
}
#endif

#endif
