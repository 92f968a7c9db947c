// Writes python/tests/fixtures/ycck.jpg: a small YCCK JPEG (CMYK with a real K channel, stored
// as YCCK with Adobe's inverted convention), which Pillow cannot write. libjpeg's own encoder
// does the colour transform and writes the Adobe marker (transform 2).
//   cc -O2 tools/make-ycck-fixture.c -ljpeg -o /tmp/make-ycck && /tmp/make-ycck python/tests/fixtures/ycck.jpg
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: make-ycck OUTPUT\n"); return 2; }
    const int width = 23, height = 17;
    FILE *out = fopen(argv[1], "wb");
    if (!out) { perror(argv[1]); return 1; }
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, out);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = 4;
    cinfo.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_colorspace(&cinfo, JCS_YCCK);
    jpeg_set_quality(&cinfo, 90, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    unsigned char row[23 * 4];
    while (cinfo.next_scanline < cinfo.image_height) {
        int y = (int)cinfo.next_scanline;
        for (int x = 0; x < width; x++) {
            // Adobe's convention: samples stored inverted (255 = no ink).
            row[x * 4 + 0] = (unsigned char)(255 - (x * 11) % 256);
            row[x * 4 + 1] = (unsigned char)(255 - (y * 15) % 256);
            row[x * 4 + 2] = (unsigned char)(255 - ((x + y) * 7) % 256);
            row[x * 4 + 3] = (unsigned char)(255 - (x * 9 + y * 3) % 256);  // a real K channel
        }
        JSAMPROW pointer = row;
        jpeg_write_scanlines(&cinfo, &pointer, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    fclose(out);
    return 0;
}
