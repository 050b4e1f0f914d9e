/* Tiny check harness shared by the C tests: counts checks, prints failures, and ends
 * with the line "N passed, M failed" that tests/test_capi.py reads. */
#ifndef SESSIONDB_TEST_CHECK_H
#define SESSIONDB_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed;
static int check_failed;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) {                                                             \
            check_passed++;                                                     \
        } else {                                                                \
            check_failed++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s -- ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                       \
            fprintf(stderr, "\n");                                              \
        }                                                                       \
    } while (0)

/* A call that must succeed; on failure the library's message is printed. */
#define CHECK_OK(call)                                                          \
    do {                                                                        \
        int check_rc_ = (int)(call);                                            \
        CHECK(check_rc_ == 0, "%s returned %d: %s", #call, check_rc_,          \
              session_db_last_error());                                         \
    } while (0)

/* A call that must fail with `code` and leave a message. */
#define CHECK_RC(call, code)                                                    \
    do {                                                                        \
        int check_rc_ = (int)(call);                                            \
        CHECK(check_rc_ == (int)(code), "%s returned %d, want %d (%s)", #call,  \
              check_rc_, (int)(code), session_db_last_error());                 \
        if ((int)(code) != 0)                                                   \
            CHECK(session_db_last_error()[0] != '\0', "%s left no message", #call); \
    } while (0)

static int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    fflush(stdout);
    return check_failed ? 1 : 0;
}

#endif
