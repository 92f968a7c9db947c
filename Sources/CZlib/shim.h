#ifndef DATAGENERATOR_CZLIB_SHIM_H
#define DATAGENERATOR_CZLIB_SHIM_H
// zlib from Debian's zlib1g-dev, for crc32(): the checksum of every stored unit
// of a cache file (Python's zlib.crc32 checks the same values).
#include <zlib.h>
#endif
