/*
 * Four threads share one handle. They make their first call at the same moment (the
 * interpreter starts under contention), then each inserts its own messages, reads,
 * searches and lists concurrently; finally the totals must be exact, each thread's
 * last error must be its own, and closing while nothing runs is clean.
 *
 * usage: capi_threads DB_PATH
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sessiondb.h"
#include "check.h"

#define THREADS 4
#define ROUNDS 40
#define PER_ROUND 5

static SessionDbHandle *shared;
static pthread_barrier_t start_line;
static const char *db_path;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

struct worker {
    int index;
    int failures;
    char message[256];
};

static void fail(struct worker *w, const char *what, int rc)
{
    w->failures++;
    pthread_mutex_lock(&report_lock);
    fprintf(stderr, "thread %d: %s returned %d: %s\n", w->index, what, rc, session_db_last_error());
    pthread_mutex_unlock(&report_lock);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    char session[32], uuid[PER_ROUND][48], text[PER_ROUND][96];
    snprintf(session, sizeof session, "thread-%d", w->index);
    pthread_barrier_wait(&start_line);
    /* first call of every thread at once: interpreter start-up under contention */
    int rc = session_db_initialize();
    if (rc != Success)
        fail(w, "initialize", rc);
    pthread_barrier_wait(&start_line); /* main connects */
    pthread_barrier_wait(&start_line);

    int64_t project = 0;
    if ((rc = session_db_upsert_project(shared, "threads", "/work/threads", "claude", &project)) != Success)
        fail(w, "upsert_project", rc);
    if ((rc = session_db_upsert_session(shared, session, project)) != Success)
        fail(w, "upsert_session", rc);
    for (int round = 0; round < ROUNDS; round++) {
        MessageInputC batch[PER_ROUND];
        for (int i = 0; i < PER_ROUND; i++) {
            int seq = round * PER_ROUND + i;
            snprintf(uuid[i], sizeof uuid[i], "t%d-m%d", w->index, seq);
            snprintf(text[i], sizeof text[i], "thread%d says concurrent message %d", w->index, seq);
            batch[i] = (MessageInputC){uuid[i], seq % 2, text[i], 1760000000000LL + seq, seq};
        }
        uintptr_t inserted = 0;
        if ((rc = session_db_insert_messages(shared, session, batch, PER_ROUND, &inserted)) != Success ||
            inserted != PER_ROUND)
            fail(w, "insert_messages", rc);
        MessageArray *messages = NULL;
        if ((rc = session_db_list_messages(shared, session, SIZE_MAX, 0, &messages)) != Success ||
            messages->len != (uintptr_t)((round + 1) * PER_ROUND))
            fail(w, "list_messages", rc);
        session_db_free_messages(messages);
        SearchResultArray *hits = NULL;
        char query[32];
        snprintf(query, sizeof query, "thread%d", w->index);
        if ((rc = session_db_search_fts(shared, query, 5, &hits)) != Success || hits->len == 0)
            fail(w, "search_fts", rc);
        session_db_free_search_results(hits);
        int64_t count = 0;
        if ((rc = session_db_get_stats(shared, NULL, NULL, &count)) != Success || count < (round + 1) * PER_ROUND)
            fail(w, "get_stats", rc);
    }
    /* each thread's last error is its own */
    char bad[16];
    snprintf(bad, sizeof bad, "bad-%d", w->index);
    rc = session_db_upsert_session(shared, bad, -1000 - w->index);
    if (rc == Success)
        fail(w, "upsert_session with an unknown project", rc);
    snprintf(w->message, sizeof w->message, "%s", session_db_last_error());
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DB_PATH\n", argv[0]);
        return 2;
    }
    db_path = argv[1];
    struct worker workers[THREADS];
    pthread_t threads[THREADS];
    pthread_barrier_init(&start_line, NULL, THREADS + 1);
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){.index = i};
        pthread_create(&threads[i], NULL, work, &workers[i]);
    }
    pthread_barrier_wait(&start_line);
    CHECK_OK(session_db_initialize()); /* five first calls at once */
    pthread_barrier_wait(&start_line);
    CHECK_OK(session_db_connect(db_path, &shared));
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        char expected[32];
        snprintf(expected, sizeof expected, "%d", -1000 - i);
        CHECK(workers[i].failures == 0, "thread %d had %d failures", i, workers[i].failures);
        CHECK(strstr(workers[i].message, expected) != NULL, "thread %d kept its own last error: %s", i,
              workers[i].message);
    }
    int64_t messages = 0, sessions = 0;
    CHECK_OK(session_db_get_stats(shared, NULL, &sessions, &messages));
    CHECK(messages == THREADS * ROUNDS * PER_ROUND, "every message stored once: %lld", (long long)messages);
    CHECK(sessions == THREADS, "one session per thread: %lld", (long long)sessions);
    bool ok = false;
    CHECK_OK(session_db_integrity_check(shared, false, &ok, NULL));
    CHECK(ok, "integrity ok");
    session_db_close(shared);
    pthread_barrier_destroy(&start_line);
    return check_summary();
}
