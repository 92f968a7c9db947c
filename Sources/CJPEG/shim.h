#ifndef DATAGENERATOR_CJPEG_SHIM_H
#define DATAGENERATOR_CJPEG_SHIM_H
// libjpeg-turbo's libjpeg API from Debian's libjpeg62-turbo-dev. Swift never calls it directly:
// its errors longjmp, so CImageCodecs wraps every call (setjmp in C).
#include <stdio.h>
#include <jpeglib.h>
#endif
