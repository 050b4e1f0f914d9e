/*
 * Per-call cost of libsessiondb's C ABI, measured from C.
 *
 *   capi_bench first DB_PATH          one line: microseconds of the first call (interpreter start)
 *   capi_bench calls DB_PATH N_MSGS   fills a database through the ABI, then times calls
 *
 * Run by bench/capi_bench.py, which compiles it, repeats the first-call measurement in
 * fresh processes and prints a table.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sessiondb.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "%s failed (%d): %s\n", what, rc, session_db_last_error());
    exit(1);
}

static const char *WORDS[] = {"database", "locked", "writer", "heartbeat", "search", "session", "collect",
                              "swift",    "python", "sqlite", "index",     "phrase", "query",   "thread"};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

static void fill(SessionDbHandle *db, int messages)
{
    int rc;
    int64_t projects[10];
    for (int p = 0; p < 10; p++) {
        char name[32], path[64];
        snprintf(name, sizeof name, "project-%d", p);
        snprintf(path, sizeof path, "/work/project-%d", p);
        if ((rc = session_db_upsert_project(db, name, path, "claude", &projects[p])) != Success)
            die("upsert_project", rc);
    }
    int per_session = 50;
    MessageInputC *batch = calloc((size_t)per_session, sizeof *batch);
    char (*uuids)[40] = calloc((size_t)per_session, 40);
    char (*texts)[200] = calloc((size_t)per_session, 200);
    srand(7);
    for (int s = 0; s * per_session < messages; s++) {
        char session[40];
        snprintf(session, sizeof session, "session-%05d", s);
        if ((rc = session_db_upsert_session(db, session, projects[s % 10])) != Success)
            die("upsert_session", rc);
        for (int i = 0; i < per_session; i++) {
            int n = s * per_session + i;
            snprintf(uuids[i], 40, "msg-%08d", n);
            snprintf(texts[i], 200, "%s %s %s message %d about %s and %s", WORDS[rand() % NWORDS],
                     WORDS[rand() % NWORDS], WORDS[rand() % NWORDS], n, WORDS[rand() % NWORDS],
                     WORDS[rand() % NWORDS]);
            batch[i] = (MessageInputC){uuids[i], i % 2, texts[i], 1760000000000LL + n * 1000LL, i};
        }
        uintptr_t inserted = 0;
        if ((rc = session_db_insert_messages(db, session, batch, (uintptr_t)per_session, &inserted)) != Success)
            die("insert_messages", rc);
    }
    free(batch);
    free(uuids);
    free(texts);
}

typedef int (*bench_fn)(SessionDbHandle *db);

static int call_version(SessionDbHandle *db)
{
    (void)db;
    return session_db_version()[0] == 0;
}

static int call_current_role(SessionDbHandle *db)
{
    int32_t role;
    return session_db_current_role(db, &role);
}

static int call_null_handle_error(SessionDbHandle *db)
{
    (void)db;
    int32_t role;
    return session_db_current_role(NULL, &role) != NullPointer;
}

static int call_checkpoint_lookup(SessionDbHandle *db)
{
    int64_t ts;
    return session_db_get_scan_checkpoint(db, "session-00001", &ts);
}

static int call_list_projects(SessionDbHandle *db)
{
    ProjectArray *a = NULL;
    int rc = session_db_list_projects(db, &a);
    session_db_free_projects(a);
    return rc;
}

static int call_list_messages(SessionDbHandle *db)
{
    MessageArray *a = NULL;
    int rc = session_db_list_messages(db, "session-00003", 50, 0, &a);
    session_db_free_messages(a);
    return rc;
}

static int call_search_word(SessionDbHandle *db)
{
    SearchResultArray *a = NULL;
    int rc = session_db_search_fts(db, "heartbeat", 20, &a);
    session_db_free_search_results(a);
    return rc;
}

static int call_search_phrase(SessionDbHandle *db)
{
    SearchResultArray *a = NULL;
    int rc = session_db_search_fts(db, "\"writer heartbeat\" sqlite", 20, &a);
    session_db_free_search_results(a);
    return rc;
}

static void time_calls(SessionDbHandle *db, const char *name, bench_fn fn, long iterations)
{
    for (long i = 0; i < iterations / 10 + 1; i++) /* warm up */
        if (fn(db) != 0)
            die(name, -1);
    double start = now_ns();
    for (long i = 0; i < iterations; i++)
        fn(db);
    double per_call = (now_ns() - start) / (double)iterations;
    printf("%s\t%ld\t%.1f\n", name, iterations, per_call);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "first") == 0) {
        double start = now_ns();
        int rc = session_db_initialize();
        double first = now_ns() - start;
        if (rc != Success)
            die("initialize", rc);
        start = now_ns();
        SessionDbHandle *db = NULL;
        if ((rc = session_db_connect(argv[2], &db)) != Success)
            die("connect", rc);
        double connect = now_ns() - start;
        session_db_close(db);
        printf("first_call_us\t%.0f\nfirst_connect_us\t%.0f\n", first / 1e3, connect / 1e3);
        return 0;
    }
    if (argc < 4 || strcmp(argv[1], "calls") != 0) {
        fprintf(stderr, "usage: %s first DB | calls DB N_MESSAGES\n", argv[0]);
        return 2;
    }
    SessionDbHandle *db = NULL;
    int rc = session_db_connect(argv[2], &db);
    if (rc != Success)
        die("connect", rc);
    fill(db, atoi(argv[3]));
    printf("name\tcalls\tns_per_call\n");
    time_calls(db, "version (pure C)", call_version, 2000000);
    time_calls(db, "current_role (trivial, via Python)", call_current_role, 300000);
    time_calls(db, "NULL handle error + last error", call_null_handle_error, 300000);
    time_calls(db, "get_scan_checkpoint (1 SELECT)", call_checkpoint_lookup, 50000);
    time_calls(db, "list_projects (10 rows)", call_list_projects, 20000);
    time_calls(db, "list_messages (50 rows)", call_list_messages, 5000);
    time_calls(db, "search_fts word, top 20", call_search_word, 2000);
    time_calls(db, "search_fts phrase + word, top 20", call_search_phrase, 2000);
    session_db_close(db);
    return 0;
}
