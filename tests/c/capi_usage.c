/*
 * session_db_usage and session_db_free_usage: per-day and per-session totals, filters,
 * the struct layout, and bad arguments.
 *
 * usage: capi_usage DB_PATH SESSION_ID DAYS GRAND_TOTAL SESSION_TOTAL SESSION_CALLS
 *   DB_PATH holds collected sessions; the numbers are what the caller counted
 *   (days with calls, tokens of every call, tokens and calls of SESSION_ID).
 * Prints "N passed, M failed"; exit status 1 on any failure.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sessiondb.h"
#include "check.h"

static int64_t total_of(const struct SessionDbUsageArray *rows)
{
    int64_t total = 0;
    for (uintptr_t i = 0; i < rows->len; i++)
        total += rows->data[i].total_tokens;
    return total;
}

static void check_row(const struct SessionDbUsageC *row)
{
    CHECK(row->key != NULL && row->models != NULL && row->unpriced_models != NULL, "strings are never NULL");
    CHECK(row->input_tokens + row->output_tokens + row->cache_read_tokens + row->cache_write_tokens +
          row->reasoning_tokens == row->total_tokens, "counts add up for %s", row->key);
    CHECK(row->cost == -1.0 || row->cost >= 0.0, "cost %f", row->cost);
    CHECK(row->first_at <= row->last_at && row->first_at > 0, "first %lld last %lld", (long long)row->first_at,
          (long long)row->last_at);
    CHECK(row->requests >= 1 && row->sessions >= 1, "a row is at least one call of one session");
    CHECK((row->unpriced_tokens == 0) == (row->unpriced_models[0] == '\0'), "unpriced tokens and models agree");
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s DB_PATH SESSION_ID DAYS GRAND_TOTAL SESSION_TOTAL SESSION_CALLS\n", argv[0]);
        return 2;
    }
    const char *session = argv[2];
    long days_expected = strtol(argv[3], NULL, 10);
    long long grand_total = strtoll(argv[4], NULL, 10);
    long long session_total = strtoll(argv[5], NULL, 10);
    long long session_calls = strtoll(argv[6], NULL, 10);

    CHECK(sizeof(struct SessionDbUsageC) == 120, "sizeof(SessionDbUsageC) = %zu", sizeof(struct SessionDbUsageC));
    CHECK(offsetof(struct SessionDbUsageC, cost) == 72 && offsetof(struct SessionDbUsageC, models) == 88 &&
          offsetof(struct SessionDbUsageC, last_at) == 112, "SessionDbUsageC layout");
    CHECK(sizeof(struct SessionDbUsageArray) == 16 && offsetof(struct SessionDbUsageArray, len) == 8,
          "SessionDbUsageArray layout");
    CHECK(SESSION_DB_USAGE_BY_DAY == 0 && SESSION_DB_USAGE_BY_SESSION == 1 && SESSION_DB_USAGE_BY_SOURCE == 6,
          "SessionDbUsageGroup values");

    struct SessionDbHandle *h = NULL;
    CHECK_OK(session_db_connect(argv[1], &h));
    if (!h)
        return check_summary();

    struct SessionDbUsageArray *days = NULL;
    CHECK_OK(session_db_usage(h, SESSION_DB_USAGE_BY_DAY, -1, -1, NULL, NULL, &days));
    if (days) {
        CHECK((long)days->len == days_expected, "%zu days, want %ld", (size_t)days->len, days_expected);
        CHECK(total_of(days) == grand_total, "days add up to %lld, want %lld", (long long)total_of(days), grand_total);
        for (uintptr_t i = 0; i < days->len; i++) {
            check_row(&days->data[i]);
            CHECK(strlen(days->data[i].key) == 10 && days->data[i].key[4] == '-', "a date: %s", days->data[i].key);
            if (i)
                CHECK(strcmp(days->data[i - 1].key, days->data[i].key) < 0, "oldest first");
        }
        /* Only the first day: the filters are inclusive epoch-ms bounds. */
        if (days->len) {
            struct SessionDbUsageArray *first = NULL;
            CHECK_OK(session_db_usage(h, SESSION_DB_USAGE_BY_DAY, days->data[0].first_at, days->data[0].last_at, NULL,
                                      NULL, &first));
            CHECK(first && first->len == 1 && first->data[0].total_tokens == days->data[0].total_tokens,
                  "since/until select the first day");
            session_db_free_usage(first);
        }
    }
    session_db_free_usage(days);

    struct SessionDbUsageArray *sessions = NULL;
    CHECK_OK(session_db_usage(h, SESSION_DB_USAGE_BY_SESSION, -1, -1, NULL, NULL, &sessions));
    if (sessions) {
        CHECK(total_of(sessions) == grand_total, "sessions add up");
        for (uintptr_t i = 0; i < sessions->len; i++)
            check_row(&sessions->data[i]);
    }
    session_db_free_usage(sessions);

    struct SessionDbUsageArray *one = NULL;
    CHECK_OK(session_db_usage(h, SESSION_DB_USAGE_BY_SESSION, -1, -1, NULL, session, &one));
    if (one) {
        CHECK(one->len == 1, "one session, got %zu", (size_t)one->len);
        if (one->len == 1) {
            CHECK(strcmp(one->data[0].key, session) == 0, "key %s", one->data[0].key);
            CHECK(one->data[0].total_tokens == session_total, "session total %lld, want %lld",
                  (long long)one->data[0].total_tokens, session_total);
            CHECK(one->data[0].requests == session_calls, "session calls %lld, want %lld",
                  (long long)one->data[0].requests, session_calls);
            CHECK(one->data[0].cost > 0.0, "a priced session");
        }
    }
    session_db_free_usage(one);

    for (int32_t by = 2; by <= 6; by++) {
        struct SessionDbUsageArray *rows = NULL;
        CHECK_OK(session_db_usage(h, by, -1, -1, NULL, NULL, &rows));
        CHECK(rows && total_of(rows) == grand_total, "grouping %d adds up", by);
        session_db_free_usage(rows);
    }

    struct SessionDbUsageArray *none = NULL;
    CHECK_OK(session_db_usage(h, SESSION_DB_USAGE_BY_DAY, -1, -1, "no-such-source", NULL, &none));
    CHECK(none && none->len == 0 && none->data == NULL, "an empty array, data NULL");
    session_db_free_usage(none);

    struct SessionDbUsageArray *bad = NULL;
    CHECK_RC(session_db_usage(h, 7, -1, -1, NULL, NULL, &bad), Unknown);
    CHECK_RC(session_db_usage(h, -1, -1, -1, NULL, NULL, &bad), Unknown);
    CHECK_RC(session_db_usage(h, SESSION_DB_USAGE_BY_DAY, -1, -1, "\xff\xfe", NULL, &bad), InvalidUtf8);
    CHECK_RC(session_db_usage(h, SESSION_DB_USAGE_BY_DAY, -1, -1, NULL, "\xc3", &bad), InvalidUtf8);
    CHECK_RC(session_db_usage(h, SESSION_DB_USAGE_BY_DAY, -1, -1, NULL, NULL, NULL), NullPointer);
    CHECK_RC(session_db_usage(NULL, SESSION_DB_USAGE_BY_DAY, -1, -1, NULL, NULL, &bad), NullPointer);
    CHECK(bad == NULL, "no array after a failure");
    session_db_free_usage(NULL);

    session_db_close(h);
    CHECK(session_db_usage(h, SESSION_DB_USAGE_BY_DAY, -1, -1, NULL, NULL, &bad) != Success, "a closed handle fails");
    return check_summary();
}
