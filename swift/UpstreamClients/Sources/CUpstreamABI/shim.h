/* The upstream ABI of libsessiondb; the include path comes from pkg-config (sessiondb.pc). */
#include <ai_cli_session_db.h>
