/* The original ABI of libsessiondb (with its additions); include path from pkg-config. */
#include <sessiondb.h>
