/*
 * The embedded interpreter cannot start (the test sets PYTHONHOME to a directory
 * that does not exist): every call must fail with an error code and a message, the
 * process must not be killed, and the functions that need no Python keep working.
 *
 * usage: capi_init_failure DB_PATH
 */
#include <stdint.h>
#include <string.h>

#include "sessiondb.h"
#include "check.h"

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    CHECK(session_db_initialize() == Unknown, "initialize fails");
    CHECK(strstr(session_db_last_error(), "Python") != NULL, "message names the cause: %s", session_db_last_error());
    CHECK(session_db_initialize() == Unknown, "and keeps failing, without a hang");

    SessionDbHandle *db = (SessionDbHandle *)0x1234;
    CHECK_RC(session_db_connect(argv[1], &db), Unknown);
    CHECK(db == (SessionDbHandle *)0x1234, "out_handle untouched");
    CHECK_RC(session_db_get_stats(NULL, NULL, NULL, NULL), Unknown);
    ParseResult parsed = session_db_parse_jsonl("/x.jsonl");
    CHECK(parsed.session == NULL && parsed.error == Unknown, "parse_jsonl reports the failure");
    CHECK(session_db_compute_session_path("/r", "e", "s") == NULL, "pointer functions return NULL");
    session_db_close(NULL);
    session_db_close((SessionDbHandle *)0x1234);

    /* no Python needed for these */
    CHECK(strcmp(session_db_version(), "") != 0, "version");
    CHECK(strlen(session_db_python_version()) >= 4, "python version");
    CHECK(session_db_last_error_code() == Unknown, "last error code");
    SessionDbSearchOptions options;
    session_db_search_options_init(&options);
    CHECK(options.limit == 20, "options defaults");
    session_db_free_string(NULL);
    session_db_free_projects(NULL);
    return check_summary();
}
