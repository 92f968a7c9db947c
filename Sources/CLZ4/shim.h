#ifndef DATAGENERATOR_CLZ4_SHIM_H
#define DATAGENERATOR_CLZ4_SHIM_H
// liblz4 from Debian's liblz4-dev: the block API (lz4.h), the high-compression
// block API (lz4hc.h) and the frame API (lz4frame.h).
#include <lz4.h>
#include <lz4hc.h>
#include <lz4frame.h>
#endif
