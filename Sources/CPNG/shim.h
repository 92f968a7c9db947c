#ifndef DATAGENERATOR_CPNG_SHIM_H
#define DATAGENERATOR_CPNG_SHIM_H
// libpng 1.6 from Debian's libpng-dev. Swift never calls it directly: its errors longjmp, so
// CImageCodecs wraps every call (setjmp in C).
#include <png.h>
#endif
