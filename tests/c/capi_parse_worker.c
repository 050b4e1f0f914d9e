/* A collection through the C ABI, in a host that is not Python: prints how many messages
 * it stored and the peak RSS of the child processes it ran (0 when the files were read
 * in process, else the parse worker's), for tests/test_parse_worker.py to compare.
 * usage: capi_parse_worker DB EXPECTED_MESSAGES */
#include <stdlib.h>
#include <sys/resource.h>

#include "check.h"
#include "sessiondb.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DB EXPECTED_MESSAGES\n", argv[0]);
        return 2;
    }
    long expected = strtol(argv[2], NULL, 10);
    SessionDbHandle *db = NULL;
    CHECK_OK(session_db_connect(argv[1], &db));
    int32_t role = -1;
    CHECK_OK(session_db_register_writer(db, 2, &role));
    CHECK(role == 0, "role %d", (int)role);
    CollectResultC *result = NULL;
    CHECK_OK(session_db_collect(db, &result));
    if (result) {
        CHECK((long)result->messages_inserted == expected, "inserted %lu, expected %ld",
              (unsigned long)result->messages_inserted, expected);
        CHECK(result->error_count == 0, "errors %lu: %s", (unsigned long)result->error_count,
              result->first_error ? result->first_error : "");
        session_db_free_collect_result(result);
    }
    /* Collecting again finds nothing new. */
    result = NULL;
    CHECK_OK(session_db_collect(db, &result));
    if (result) {
        CHECK(result->messages_inserted == 0, "again inserted %lu", (unsigned long)result->messages_inserted);
        session_db_free_collect_result(result);
    }
    session_db_close(db);
    struct rusage children;
    getrusage(RUSAGE_CHILDREN, &children);
    printf("children_maxrss_kb %ld\n", children.ru_maxrss);
    return check_summary();
}
