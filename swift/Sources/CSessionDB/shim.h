/* The C ABI of libsessiondb; the include path comes from pkg-config (sessiondb.pc). */
#ifndef CSESSIONDB_SHIM_H
#define CSESSIONDB_SHIM_H
#include <sessiondb.h>
#endif
