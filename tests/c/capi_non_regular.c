/* Paths that are not regular files, handed to every C ABI function that reads a path.
 *
 * usage: capi_non_regular PATH...   (e.g. /dev/zero, a FIFO, a directory, a socket)
 * Each session-file reader must return an error code with a message naming the problem,
 * at once; the functions that take a projects root must return (an empty list is
 * fine) and never block. Prints "elapsed_ms <max>" for the slowest call. */
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "sessiondb.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double slowest;

static void timed(double started)
{
    double took = now_ms() - started;
    if (took > slowest)
        slowest = took;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *path = argv[i];
        double started = now_ms();
        MessagesResultC *page = NULL;
        int rc = session_db_read_session_messages(path, 10, 0, true, &page);
        timed(started);
        CHECK(rc != Success, "read_session_messages(%s) succeeded", path);
        CHECK(strstr(session_db_last_error(), "not a") != NULL || strstr(session_db_last_error(), "regular") != NULL,
              "read_session_messages(%s): unclear message: %s", path, session_db_last_error());
        printf("%s: %s\n", path, session_db_last_error());
        if (page)
            session_db_free_messages_result(page);

        started = now_ms();
        ParseResult parsed = session_db_parse_jsonl(path);
        timed(started);
        CHECK(parsed.error != Success && parsed.session == NULL, "parse_jsonl(%s) succeeded", path);
        CHECK(session_db_last_error()[0] != '\0', "parse_jsonl(%s) left no message", path);
        session_db_free_parse_result(parsed.session);

        started = now_ms();
        SessionMetaArray *metas = NULL;
        rc = session_db_list_session_metas(path, NULL, &metas);
        timed(started);
        if (rc == Success)
            session_db_free_session_meta_list(metas);
        ProjectInfoArray *projects = NULL;
        rc = session_db_list_file_projects(path, 0, &projects);
        if (rc == Success)
            session_db_free_project_list(projects);
        SessionMetaC *latest = NULL;
        rc = session_db_find_latest_session(path, "/work/x", 0, &latest);
        if (rc == Success && latest)
            session_db_free_session_meta(latest);
        char *found = session_db_get_session_path(path, "abc");
        session_db_free_string(found);
        timed(started);

        started = now_ms();
        SessionDbHandle *db = NULL;
        rc = session_db_connect(path, &db);
        timed(started);
        CHECK(rc != Success, "connect(%s) succeeded", path);
        if (rc == Success)
            session_db_close(db);
    }
    printf("elapsed_ms %.1f\n", slowest);
    return check_summary();
}
