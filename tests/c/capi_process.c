/*
 * What the library does to its host process:
 *  - the host's signal dispositions are the same after the interpreter started
 *    (a custom SIGTERM handler keeps running, SIGINT still kills, SIGPIPE stays ignored);
 *  - fork() while another thread is inside the library: every child keeps working;
 *  - the interpreter runs from the environment the package is installed in (the
 *    extension modules it loads come from EXPECTED_PREFIX), whatever PATH says.
 *
 * usage: capi_process DB_PATH EXPECTED_PREFIX
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sessiondb.h"
#include "check.h"

#define CHILDREN 12

static volatile sig_atomic_t terms_seen;
static volatile int stop_worker;
static const char *db_path;

static void on_term(int sig)
{
    (void)sig;
    terms_seen++;
}

static void *busy_worker(void *arg)
{
    SessionDbHandle *db = arg;
    while (!stop_worker) {
        SearchResultArray *hits = NULL;
        if (session_db_search_fts(db, "fork", 5, &hits) == Success)
            session_db_free_search_results(hits);
    }
    return NULL;
}

/* In a child: open our own handle, write and read, exit 0 on success. */
static void child_work(int index)
{
    alarm(20); /* a deadlocked child dies instead of hanging the test */
    SessionDbHandle *db = NULL;
    if (session_db_connect(db_path, &db) != Success)
        _exit(10);
    int64_t project = 0;
    char session[32];
    snprintf(session, sizeof session, "child-%d", index);
    if (session_db_upsert_project(db, "fork", "/work/fork", "claude", &project) != Success)
        _exit(11);
    if (session_db_upsert_session(db, session, project) != Success)
        _exit(12);
    int64_t count = -1;
    if (session_db_get_stats(db, NULL, &count, NULL) != Success || count < 1)
        _exit(13);
    session_db_close(db);
    _exit(0);
}

static void check_signals(void)
{
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_term;
    sigaction(SIGTERM, &act, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_DFL);

    CHECK_OK(session_db_initialize());
    SessionDbHandle *db = NULL;
    CHECK_OK(session_db_connect(db_path, &db)); /* imports the whole package */
    session_db_close(db);

    struct sigaction now;
    sigaction(SIGTERM, NULL, &now);
    CHECK(now.sa_handler == on_term, "SIGTERM handler kept");
    sigaction(SIGINT, NULL, &now);
    CHECK(now.sa_handler == SIG_DFL, "SIGINT still default");
    sigaction(SIGPIPE, NULL, &now);
    CHECK(now.sa_handler == SIG_IGN, "SIGPIPE still ignored");
    raise(SIGTERM);
    CHECK(terms_seen == 1, "the host's handler ran");

    pid_t child = fork();
    if (child == 0) {
        alarm(20);
        SessionDbHandle *h = NULL;
        if (session_db_connect(db_path, &h) == Success)
            session_db_close(h);
        raise(SIGINT); /* must terminate the child like in any C program */
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "Ctrl-C still ends the program (status %d)", status);
}

static void check_fork_while_busy(void)
{
    SessionDbHandle *db = NULL;
    CHECK_OK(session_db_connect(db_path, &db));
    pthread_t worker;
    stop_worker = 0;
    pthread_create(&worker, NULL, busy_worker, db);
    int ok = 0;
    for (int i = 0; i < CHILDREN; i++) {
        usleep(2000);
        pid_t child = fork();
        if (child == 0)
            child_work(i);
        int status = 0;
        waitpid(child, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            ok++;
        else
            fprintf(stderr, "child %d: status %d\n", i, status);
    }
    stop_worker = 1;
    pthread_join(worker, NULL);
    CHECK(ok == CHILDREN, "%d of %d forked children worked", ok, CHILDREN);
    int64_t sessions = 0;
    CHECK_OK(session_db_get_stats(db, NULL, &sessions, NULL));
    CHECK(sessions == CHILDREN, "every child wrote its session: %lld", (long long)sessions);
    session_db_close(db);
}

static void check_environment(const char *expected_prefix)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) {
        printf("SKIP: no /proc/self/maps\n");
        return;
    }
    char line[4096];
    int found = 0, wrong = 0;
    while (fgets(line, sizeof line, maps)) {
        char *path = strchr(line, '/');
        if (!path || !strstr(path, "_cffi_backend"))
            continue;
        found = 1;
        if (strncmp(path, expected_prefix, strlen(expected_prefix)) != 0) {
            wrong = 1;
            fprintf(stderr, "loaded from elsewhere: %s", path);
        }
    }
    fclose(maps);
    CHECK(found && !wrong, "the interpreter's modules come from %s", expected_prefix);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DB_PATH EXPECTED_PREFIX\n", argv[0]);
        return 2;
    }
    db_path = argv[1];
    check_signals();
    check_fork_while_busy();
    check_environment(argv[2]);
    return check_summary();
}
