/* One C ABI handle meets a disk that fills up, then gets its space back.
 *
 * usage: capi_disk_full DB EXPECTED_MESSAGES
 * The session files come from $CLAUDE_PROJECTS_PATH. A file size limit (RLIMIT_FSIZE,
 * a real fault of the write(2) calls SQLite makes) just above the database's current
 * size makes the first collection fail; once the limit is lifted, the SAME handle must
 * collect everything, with no reopen. */
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "sessiondb.h"

static long long file_size(const char *db, const char *suffix)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s%s", db, suffix);
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DB EXPECTED_MESSAGES\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    long long expected = atoll(argv[2]);
    signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails instead of killing the host */

    SessionDbHandle *db = NULL;
    CHECK_OK(session_db_connect(path, &db));
    int32_t role = -1;
    CHECK_OK(session_db_register_writer(db, 0, &role));
    CHECK(role == 0, "role %d, want Writer", role);

    struct rlimit saved;
    getrlimit(RLIMIT_FSIZE, &saved);
    long long biggest = file_size(path, "");
    if (file_size(path, "-wal") > biggest)
        biggest = file_size(path, "-wal");
    struct rlimit low = {(rlim_t)(biggest + 32768), saved.rlim_max};
    CHECK(setrlimit(RLIMIT_FSIZE, &low) == 0, "setrlimit");

    CollectResultC *result = NULL;
    int rc = session_db_collect(db, &result);
    const char *error = session_db_last_error();
    CHECK(rc == DatabaseError, "collect on a full disk returned %d (%s)", rc, error);
    CHECK(strstr(error, "full") != NULL || strstr(error, "I/O") != NULL,
          "the message names the cause: %s", error);
    printf("full: %s\n", error);
    if (result)
        session_db_free_collect_result(result);
    result = NULL;

    int64_t messages = -1;
    CHECK_OK(session_db_get_stats(db, NULL, NULL, &messages));
    CHECK(messages == 0, "%lld messages after the failed collection (nothing may be half-written)",
          (long long)messages);

    CHECK(setrlimit(RLIMIT_FSIZE, &saved) == 0, "restore the limit");
    double started = now_ms();
    CHECK_OK(session_db_collect(db, &result));
    double took = now_ms() - started;
    CHECK(result != NULL && (long long)result->messages_inserted == expected,
          "the same handle collected %lld of %lld messages",
          result ? (long long)result->messages_inserted : -1LL, expected);
    if (result)
        session_db_free_collect_result(result);
    CHECK_OK(session_db_get_stats(db, NULL, NULL, &messages));
    CHECK(messages == expected, "%lld stored, want %lld", (long long)messages, expected);
    printf("recovered_ms %.1f\n", took);
    session_db_close(db);
    return check_summary();
}
