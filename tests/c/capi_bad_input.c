/*
 * Bad input for every function: NULL for each pointer (including the strings inside
 * MessageInputC and SessionDbSearchOptions), invalid UTF-8, out-of-range enum values,
 * closed, stale and made-up handles, double close. Each call must return its error
 * code, leave a last-error message, leave out-parameters untouched, and write nothing.
 *
 * usage: capi_bad_input DB_PATH
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sessiondb.h"
#include "check.h"

static const char BAD_UTF8[] = "bad \xff\xfe utf-8";
#define SENTINEL ((void *)0x5e5e5e5e)

/* A pointer-returning call that must give NULL and leave a message. */
#define CHECK_NULL_RESULT(call)                                                        \
    do {                                                                               \
        char *check_s_ = (call);                                                       \
        CHECK(check_s_ == NULL, "%s returned a string", #call);                        \
        CHECK(session_db_last_error()[0] != '\0', "%s left no message", #call);       \
        session_db_free_string(check_s_);                                              \
    } while (0)

static void handle_checks(SessionDbHandle *h, int code)
{
    int32_t i32 = 42;
    int64_t i64 = 42;
    uintptr_t count = 42;
    bool flag = true;
    char *text = SENTINEL;
    ProjectArray *projects = SENTINEL;
    SessionArray *sessions = SENTINEL;
    MessageArray *messages = SENTINEL;
    SearchResultArray *hits = SENTINEL;
    CollectResultC *collected = SENTINEL;
    MessageInputC one = {"u", 0, "c", 1, 0};
    SessionDbSearchOptions options;
    session_db_search_options_init(&options);
    options.query = "x";

    CHECK_RC(session_db_register_writer(h, 0, &i32), code);
    CHECK_RC(session_db_heartbeat(h), code);
    CHECK_RC(session_db_release_writer(h), code);
    CHECK_RC(session_db_check_writer_health(h, &i32), code);
    CHECK_RC(session_db_try_takeover(h, &i32), code);
    CHECK_RC(session_db_register_writer_and_collect(h, 0, &i32, &collected), code);
    CHECK_RC(session_db_get_stats(h, &i64, &i64, &i64), code);
    CHECK_RC(session_db_upsert_project(h, "n", "/p", "claude", &i64), code);
    CHECK_RC(session_db_list_projects(h, &projects), code);
    CHECK_RC(session_db_upsert_session(h, "s", 1), code);
    CHECK_RC(session_db_list_sessions(h, 1, &sessions), code);
    CHECK_RC(session_db_get_scan_checkpoint(h, "s", &i64), code);
    CHECK_RC(session_db_update_session_last_message(h, "s", 1), code);
    CHECK_RC(session_db_insert_messages(h, "s", &one, 1, &count), code);
    CHECK_RC(session_db_list_messages(h, "s", 10, 0, &messages), code);
    CHECK_RC(session_db_search_fts(h, "x", 10, &hits), code);
    CHECK_RC(session_db_search_fts_with_project(h, "x", 10, 1, &hits), code);
    CHECK_RC(session_db_search_fts_full(h, "x", 10, 1, Score, -1, -1, &hits), code);
    CHECK_RC(session_db_search_fts_with_options(h, "x", 10, 1, Score, &hits), code);
    CHECK_RC(session_db_update_approval_status_by_tool_call_id(h, "t", Approved, 1, &count), code);
    CHECK_RC(session_db_collect(h, &collected), code);
    CHECK_RC(session_db_collect_by_path(h, "/p.jsonl", &collected), code);
    CHECK_RC(session_db_current_role(h, &i32), code);
    CHECK_RC(session_db_coordinator_step(h, 0, &i32), code);
    CHECK_RC(session_db_coordinator_start(h, 0, &i32), code);
    CHECK_RC(session_db_coordinator_stop(h, true), code);
    CHECK_RC(session_db_wait_role_change(h, 0, 1, &i32), code);
    CHECK_RC(session_db_checkpoint(h, 0, &i64, &i64), code);
    CHECK_RC(session_db_integrity_check(h, true, &flag, &text), code);
    CHECK_RC(session_db_search(h, &options, &hits), code);
    SessionRelationArray *children = SENTINEL;
    SessionRelationC *parent = SENTINEL;
    SessionDbSessionV2Array *sessions_v2 = SENTINEL;
    CHECK_RC(session_db_get_children_sessions(h, "s", &children), code);
    CHECK_RC(session_db_get_parent_session(h, "s", &parent), code);
    CHECK_RC(session_db_v2_list_sessions(h, 1, &sessions_v2), code);
    CHECK(children == SENTINEL && parent == SENTINEL && sessions_v2 == SENTINEL, "relations untouched");
    CHECK(i32 == 42 && i64 == 42 && count == 42 && flag && text == SENTINEL && projects == SENTINEL &&
          sessions == SENTINEL && messages == SENTINEL && hits == SENTINEL && collected == SENTINEL,
          "out-parameters untouched on failure");
    session_db_close(h);
}

static void null_arguments(SessionDbHandle *db)
{
    int32_t i32 = 42;
    int64_t i64 = 42;
    uintptr_t count = 42;
    MessageInputC one = {"u", 0, "c", 1, 0};

    CHECK_RC(session_db_connect("/tmp/x.db", NULL), NullPointer);
    CHECK_RC(session_db_connect_with_options(NULL, false, 0, 0, 0, NULL), NullPointer);
    CHECK_RC(session_db_register_writer(db, 0, NULL), NullPointer);
    CHECK_RC(session_db_check_writer_health(db, NULL), NullPointer);
    CHECK_RC(session_db_try_takeover(db, NULL), NullPointer);
    CHECK_RC(session_db_register_writer_and_collect(db, 0, NULL, NULL), NullPointer);
    CHECK_RC(session_db_upsert_project(db, NULL, "/p", "claude", &i64), NullPointer);
    CHECK_RC(session_db_upsert_project(db, "n", NULL, "claude", &i64), NullPointer);
    CHECK_RC(session_db_upsert_project(db, "n", "/p", NULL, &i64), NullPointer);
    CHECK_RC(session_db_upsert_project(db, "n", "/p", "claude", NULL), NullPointer);
    CHECK_RC(session_db_list_projects(db, NULL), NullPointer);
    CHECK_RC(session_db_upsert_session(db, NULL, 1), NullPointer);
    CHECK_RC(session_db_list_sessions(db, 1, NULL), NullPointer);
    CHECK_RC(session_db_get_scan_checkpoint(db, NULL, &i64), NullPointer);
    CHECK_RC(session_db_get_scan_checkpoint(db, "s", NULL), NullPointer);
    CHECK_RC(session_db_update_session_last_message(db, NULL, 1), NullPointer);
    CHECK_RC(session_db_insert_messages(db, NULL, &one, 1, &count), NullPointer);
    CHECK_RC(session_db_insert_messages(db, "s", NULL, 0, &count), NullPointer);
    CHECK_RC(session_db_list_messages(db, NULL, 1, 0, (MessageArray **)SENTINEL), NullPointer);
    CHECK_RC(session_db_list_messages(db, "s", 1, 0, NULL), NullPointer);
    CHECK_RC(session_db_search_fts(db, NULL, 1, (SearchResultArray **)SENTINEL), NullPointer);
    CHECK_RC(session_db_search_fts(db, "x", 1, NULL), NullPointer);
    CHECK_RC(session_db_search_fts_with_project(db, NULL, 1, 1, (SearchResultArray **)SENTINEL), NullPointer);
    CHECK_RC(session_db_search_fts_with_project(db, "x", 1, 1, NULL), NullPointer);
    CHECK_RC(session_db_search_fts_full(db, NULL, 1, 1, Score, -1, -1, (SearchResultArray **)SENTINEL), NullPointer);
    CHECK_RC(session_db_search_fts_full(db, "x", 1, 1, Score, -1, -1, NULL), NullPointer);
    CHECK_RC(session_db_search_fts_with_options(db, NULL, 1, 1, Score, (SearchResultArray **)SENTINEL), NullPointer);
    CHECK_RC(session_db_search_fts_with_options(db, "x", 1, 1, Score, NULL), NullPointer);
    CHECK_RC(session_db_update_approval_status_by_tool_call_id(db, NULL, Approved, 1, &count), NullPointer);
    CHECK_RC(session_db_collect(db, NULL), NullPointer);
    CHECK_RC(session_db_collect_by_path(db, NULL, (CollectResultC **)SENTINEL), NullPointer);
    CHECK_RC(session_db_collect_by_path(db, "/p.jsonl", NULL), NullPointer);
    CHECK_RC(session_db_current_role(db, NULL), NullPointer);
    CHECK_RC(session_db_coordinator_step(db, 0, NULL), NullPointer);
    CHECK_RC(session_db_wait_role_change(db, 0, 1, NULL), NullPointer);
    CHECK_RC(session_db_integrity_check(db, true, NULL, NULL), NullPointer);
    CHECK_RC(session_db_search(db, NULL, (SearchResultArray **)SENTINEL), NullPointer);
    SessionDbSearchOptions options;
    session_db_search_options_init(&options);
    CHECK_RC(session_db_search(db, &options, (SearchResultArray **)SENTINEL), NullPointer); /* query NULL */
    options.query = "x";
    CHECK_RC(session_db_search(db, &options, NULL), NullPointer);
    CHECK(i32 == 42 && i64 == 42 && count == 42, "out-parameters untouched");

    /* file functions */
    ParseResult parsed = session_db_parse_jsonl(NULL);
    CHECK(parsed.session == NULL && parsed.error == NullPointer && session_db_last_error()[0], "parse NULL");
    CHECK_NULL_RESULT(session_db_get_session_path(NULL, NULL));
    CHECK_NULL_RESULT(session_db_get_encoded_dir_name(NULL, NULL));
    CHECK_NULL_RESULT(session_db_compute_session_path(NULL, NULL, "s"));
    CHECK_NULL_RESULT(session_db_compute_session_path(NULL, "-enc", NULL));
    CHECK_RC(session_db_list_file_projects(NULL, 0, NULL), NullPointer);
    CHECK_RC(session_db_list_session_metas(NULL, NULL, NULL), NullPointer);
    CHECK_RC(session_db_find_latest_session(NULL, NULL, 0, (SessionMetaC **)SENTINEL), NullPointer);
    CHECK_RC(session_db_find_latest_session(NULL, "/p", 0, NULL), NullPointer);
    CHECK_RC(session_db_read_session_messages(NULL, 0, 0, true, (MessagesResultC **)SENTINEL), NullPointer);
    CHECK_RC(session_db_read_session_messages("/p.jsonl", 0, 0, true, NULL), NullPointer);
}

static void invalid_utf8(SessionDbHandle *db)
{
    int64_t i64 = 42;
    uintptr_t count = 42;
    ProjectArray *projects = SENTINEL;
    SearchResultArray *hits = SENTINEL;
    MessageArray *messages = SENTINEL;
    SessionDbHandle *h = SENTINEL;

    CHECK_RC(session_db_connect(BAD_UTF8, &h), InvalidUtf8);
    CHECK_RC(session_db_upsert_project(db, BAD_UTF8, "/p", "claude", &i64), InvalidUtf8);
    CHECK_RC(session_db_upsert_project(db, "n", BAD_UTF8, "claude", &i64), InvalidUtf8);
    CHECK_RC(session_db_upsert_project(db, "n", "/p", BAD_UTF8, &i64), InvalidUtf8);
    CHECK_RC(session_db_upsert_session(db, BAD_UTF8, 1), InvalidUtf8);
    CHECK_RC(session_db_get_scan_checkpoint(db, BAD_UTF8, &i64), InvalidUtf8);
    CHECK_RC(session_db_update_session_last_message(db, BAD_UTF8, 1), InvalidUtf8);
    CHECK_RC(session_db_list_messages(db, BAD_UTF8, 1, 0, &messages), InvalidUtf8);
    CHECK_RC(session_db_search_fts(db, BAD_UTF8, 1, &hits), InvalidUtf8);
    CHECK_RC(session_db_search_fts_with_project(db, BAD_UTF8, 1, 1, &hits), InvalidUtf8);
    CHECK_RC(session_db_search_fts_full(db, BAD_UTF8, 1, 1, Score, -1, -1, &hits), InvalidUtf8);
    CHECK_RC(session_db_search_fts_with_options(db, BAD_UTF8, 1, 1, Score, &hits), InvalidUtf8);
    CHECK_RC(session_db_update_approval_status_by_tool_call_id(db, BAD_UTF8, Approved, 1, &count), InvalidUtf8);
    SessionDbSearchOptions options;
    session_db_search_options_init(&options);
    options.query = "x";
    options.source = BAD_UTF8;
    CHECK_RC(session_db_search(db, &options, &hits), InvalidUtf8);
    options.source = NULL;
    options.highlight_open = BAD_UTF8;
    CHECK_RC(session_db_search(db, &options, &hits), InvalidUtf8);
    CHECK(i64 == 42 && count == 42 && projects == SENTINEL && hits == SENTINEL && messages == SENTINEL &&
          h == SENTINEL, "out-parameters untouched");

    ParseResult parsed = session_db_parse_jsonl(BAD_UTF8);
    CHECK(parsed.session == NULL && parsed.error == InvalidUtf8, "parse invalid UTF-8: %d", parsed.error);
    CHECK_NULL_RESULT(session_db_get_session_path(BAD_UTF8, "s"));
    CHECK_NULL_RESULT(session_db_get_session_path(NULL, BAD_UTF8));
    CHECK_NULL_RESULT(session_db_get_encoded_dir_name(NULL, BAD_UTF8));
    CHECK_NULL_RESULT(session_db_compute_session_path("/root", BAD_UTF8, "s"));
    ProjectInfoArray *infos = SENTINEL;
    SessionMetaArray *metas = SENTINEL;
    SessionMetaC *meta = SENTINEL;
    MessagesResultC *page = SENTINEL;
    CHECK_RC(session_db_list_file_projects(BAD_UTF8, 0, &infos), InvalidUtf8);
    CHECK_RC(session_db_list_session_metas(BAD_UTF8, NULL, &metas), InvalidUtf8);
    CHECK_RC(session_db_list_session_metas(NULL, BAD_UTF8, &metas), InvalidUtf8);
    CHECK_RC(session_db_find_latest_session(NULL, BAD_UTF8, 0, &meta), InvalidUtf8);
    CHECK_RC(session_db_read_session_messages(BAD_UTF8, 0, 0, true, &page), InvalidUtf8);
    CHECK(infos == SENTINEL && metas == SENTINEL && meta == SENTINEL && page == SENTINEL, "untouched");
}

/* Relations and the upstream layouts: NULL, invalid UTF-8. */
static void upstream_functions(SessionDbHandle *db)
{
    SessionRelationArray *children = SENTINEL;
    SessionRelationC *parent = SENTINEL;
    SessionDbSessionMetaV2Array *metas = SENTINEL;
    SessionDbSessionMetaV2 *meta = SENTINEL;
    CHECK_RC(session_db_get_children_sessions(db, NULL, &children), NullPointer);
    CHECK_RC(session_db_get_children_sessions(db, "s", NULL), NullPointer);
    CHECK_RC(session_db_get_children_sessions(db, BAD_UTF8, &children), InvalidUtf8);
    CHECK_RC(session_db_get_parent_session(db, NULL, &parent), NullPointer);
    CHECK_RC(session_db_get_parent_session(db, "s", NULL), NullPointer);
    CHECK_RC(session_db_get_parent_session(db, BAD_UTF8, &parent), InvalidUtf8);
    CHECK_RC(session_db_v2_list_sessions(db, 1, NULL), NullPointer);
    CHECK_RC(session_db_v2_list_session_metas(NULL, NULL, NULL), NullPointer);
    CHECK_RC(session_db_v2_list_session_metas(BAD_UTF8, NULL, &metas), InvalidUtf8);
    CHECK_RC(session_db_v2_list_session_metas(NULL, BAD_UTF8, &metas), InvalidUtf8);
    CHECK_RC(session_db_v2_find_latest_session(NULL, NULL, 0, &meta), NullPointer);
    CHECK_RC(session_db_v2_find_latest_session(NULL, "/p", 0, NULL), NullPointer);
    CHECK_RC(session_db_v2_find_latest_session(NULL, BAD_UTF8, 0, &meta), InvalidUtf8);
    CHECK(children == SENTINEL && parent == SENTINEL && metas == SENTINEL && meta == SENTINEL, "untouched");
    session_db_free_session_relations(NULL);
    session_db_free_session_relation(NULL);
    session_db_v2_free_sessions(NULL);
    session_db_v2_free_session_meta_list(NULL);
    session_db_v2_free_session_meta(NULL);
}

/* Every agent_client_* call on a handle that is not a live agent client. */
static void agent_handle_checks(AgentClientHandle *a)
{
    CHECK_RC(agent_client_connect(a), NullPointer);
    CHECK_RC(agent_client_notify_file_change(a, "/p.jsonl"), NullPointer);
    CHECK_RC(agent_client_write_approve_result(a, "t", Approved, 1), NullPointer);
    CHECK(!agent_client_is_connected(a) && session_db_last_error()[0], "is_connected refuses the handle");
    agent_client_disconnect(a);
    CHECK(session_db_last_error_code() == NullPointer || a == NULL, "disconnect refuses the handle");
    agent_client_destroy(a);
}

static void agent_client(const char *db_path, SessionDbHandle *db)
{
    char data_dir[4096];
    snprintf(data_dir, sizeof data_dir, "%s.agent", db_path);
    AgentClientHandle *a = SENTINEL;
    CHECK_RC(agent_client_create(NULL, NULL, NULL, &a), NullPointer);
    CHECK_RC(agent_client_create("memexkit", NULL, NULL, NULL), NullPointer);
    CHECK_RC(agent_client_create(BAD_UTF8, NULL, NULL, &a), InvalidUtf8);
    CHECK_RC(agent_client_create("memexkit", BAD_UTF8, NULL, &a), InvalidUtf8);
    CHECK_RC(agent_client_create("memexkit", NULL, BAD_UTF8, &a), InvalidUtf8);
    CHECK_RC(agent_client_create("", NULL, NULL, &a), RequestFailed);
    CHECK_RC(agent_client_create("  ", NULL, NULL, &a), RequestFailed);
    CHECK_RC(agent_client_create("memexkit", "", NULL, &a), RequestFailed);
    CHECK(a == SENTINEL, "out_handle untouched");

    agent_handle_checks(NULL);
    agent_handle_checks((AgentClientHandle *)(uintptr_t)0xdeadbeef8ULL); /* made up */
    agent_handle_checks((AgentClientHandle *)(uintptr_t)1);
    agent_handle_checks((AgentClientHandle *)db);                        /* a session handle */
    CHECK(session_db_current_role(db, &(int32_t){0}) == Success, "the session handle survives");

    AgentClientHandle *stale = NULL;
    CHECK_OK(agent_client_create("vlaudekit", data_dir, NULL, &stale));
    agent_client_destroy(stale);
    agent_handle_checks(stale);                                          /* destroyed */
    CHECK_RC(session_db_get_stats((SessionDbHandle *)stale, NULL, NULL, NULL), NullPointer);

    AgentClientHandle *agent = NULL;
    CHECK_OK(agent_client_create("a named writer", data_dir, "/nowhere", &agent));
    CHECK_RC(agent_client_notify_file_change(agent, "/p.jsonl"), NotConnected);   /* not yet connected */
    CHECK_RC(agent_client_write_approve_result(agent, "t", Approved, 1), NotConnected);
    CHECK_OK(agent_client_connect(agent));
    CHECK_RC(agent_client_notify_file_change(agent, NULL), NullPointer);
    CHECK_RC(agent_client_notify_file_change(agent, BAD_UTF8), InvalidUtf8);
    CHECK_RC(agent_client_notify_file_change(agent, ""), RequestFailed);
    CHECK_RC(agent_client_notify_file_change(agent, "/no/source/root/x.jsonl"), RequestFailed);
    CHECK_RC(agent_client_write_approve_result(agent, NULL, Approved, 1), NullPointer);
    CHECK_RC(agent_client_write_approve_result(agent, BAD_UTF8, Approved, 1), InvalidUtf8);
    CHECK_RC(agent_client_write_approve_result(agent, "", Approved, 1), RequestFailed);
    CHECK_RC(agent_client_write_approve_result(agent, "t", (enum ApprovalStatusC)4, 1), Unknown);
    CHECK_RC(agent_client_write_approve_result(agent, "t", (enum ApprovalStatusC)-1, 1), Unknown);
    CHECK(agent_client_is_connected(agent), "still connected after bad requests");
    agent_client_disconnect(agent);
    agent_client_disconnect(agent);
    CHECK_RC(agent_client_notify_file_change(agent, "/p.jsonl"), NotConnected);
    agent_client_destroy(agent);
    agent_client_destroy(agent);                                         /* double destroy */
    CHECK(session_db_last_error_code() == NullPointer, "double destroy reported");
    const char *version = agent_client_version();
    CHECK(version && strcmp(version, session_db_version()) == 0, "version");
}

static void bad_messages(SessionDbHandle *db)
{
    int64_t project = 0;
    CHECK_OK(session_db_upsert_project(db, "p", "/bad/input", "claude", &project));
    CHECK_OK(session_db_upsert_session(db, "bad-batch", project));
    uintptr_t count = 42;
    /* the bad element is last: the good ones before it must not be written */
    MessageInputC batch[3] = {{"ok-1", 0, "fine", 1, 0}, {"ok-2", 1, "fine too", 2, 1}, {"bad", 0, "x", 3, 2}};
    batch[2].uuid = NULL;
    CHECK_RC(session_db_insert_messages(db, "bad-batch", batch, 3, &count), NullPointer);
    batch[2].uuid = "bad";
    batch[2].content = NULL;
    CHECK_RC(session_db_insert_messages(db, "bad-batch", batch, 3, &count), NullPointer);
    batch[2].content = BAD_UTF8;
    CHECK_RC(session_db_insert_messages(db, "bad-batch", batch, 3, &count), InvalidUtf8);
    batch[2].content = "x";
    batch[2].uuid = BAD_UTF8;
    CHECK_RC(session_db_insert_messages(db, "bad-batch", batch, 3, &count), InvalidUtf8);
    batch[2].uuid = "bad";
    batch[2].role = 4;
    CHECK_RC(session_db_insert_messages(db, "bad-batch", batch, 3, &count), Unknown);
    batch[2].role = -1;
    CHECK_RC(session_db_insert_messages(db, "bad-batch", batch, 3, &count), Unknown);
    CHECK(count == 42, "out_inserted untouched");
    MessageArray *messages = NULL;
    CHECK_OK(session_db_list_messages(db, "bad-batch", SIZE_MAX, 0, &messages));
    CHECK(messages && messages->len == 0, "nothing of a rejected batch was written");
    session_db_free_messages(messages);
    batch[2].role = 2;
    CHECK_OK(session_db_insert_messages(db, "bad-batch", batch, 3, &count));
    CHECK(count == 3, "the corrected batch goes in");
}

static void out_of_range(SessionDbHandle *db)
{
    int32_t i32 = 42;
    uintptr_t count = 42;
    SearchResultArray *hits = SENTINEL;
    CollectResultC *collected = SENTINEL;
    CHECK_RC(session_db_register_writer(db, 4, &i32), Unknown);
    CHECK_RC(session_db_register_writer(db, -1, &i32), Unknown);
    CHECK_RC(session_db_register_writer_and_collect(db, 99, &i32, &collected), Unknown);
    CHECK_RC(session_db_coordinator_step(db, 7, &i32), Unknown);
    CHECK_RC(session_db_coordinator_start(db, -3, &i32), Unknown);
    CHECK_RC(session_db_search_fts_with_options(db, "x", 1, -1, (enum SearchOrderByC)3, &hits), Unknown);
    CHECK_RC(session_db_search_fts_full(db, "x", 1, -1, (enum SearchOrderByC)-1, -1, -1, &hits), Unknown);
    CHECK_RC(session_db_update_approval_status_by_tool_call_id(db, "t", (enum ApprovalStatusC)4, 1, &count), Unknown);
    CHECK_RC(session_db_update_approval_status_by_tool_call_id(db, "t", (enum ApprovalStatusC)-2, 1, &count), Unknown);
    CHECK_RC(session_db_checkpoint(db, 4, NULL, NULL), Unknown);
    CHECK_RC(session_db_checkpoint(db, -1, NULL, NULL), Unknown);
    SessionDbSearchOptions options;
    session_db_search_options_init(&options);
    options.query = "x";
    options.role = 4;
    CHECK_RC(session_db_search(db, &options, &hits), Unknown);
    options.role = -2;
    CHECK_RC(session_db_search(db, &options, &hits), Unknown);
    options.role = -1;
    options.order_by = (enum SearchOrderByC)9;
    CHECK_RC(session_db_search(db, &options, &hits), Unknown);
    CHECK(i32 == 42 && count == 42 && hits == SENTINEL && collected == SENTINEL, "untouched");
    CHECK(session_db_last_error_code() == Unknown, "last error code %d", session_db_last_error_code());
    /* huge limits and offsets are "everything", not an error */
    hits = NULL;
    CHECK_OK(session_db_search_fts(db, "fine", SIZE_MAX, &hits));
    CHECK(hits && hits->len == 2, "SIZE_MAX limit: %zu", hits ? (size_t)hits->len : 0);
    session_db_free_search_results(hits);
    MessageArray *messages = NULL;
    CHECK_OK(session_db_list_messages(db, "bad-batch", SIZE_MAX, SIZE_MAX, &messages));
    CHECK(messages && messages->len == 0, "offset past the end");
    session_db_free_messages(messages);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DB_PATH\n", argv[0]);
        return 2;
    }
    /* Before the interpreter has started: a NULL handle is refused just the same. */
    handle_checks(NULL, NullPointer);
    handle_checks((SessionDbHandle *)(uintptr_t)0xdeadbeef0ULL, NullPointer); /* made up */
    handle_checks((SessionDbHandle *)(uintptr_t)1, NullPointer);
    SessionDbHandle *db = NULL;
    CHECK_OK(session_db_connect(argv[1], &db));
    SessionDbHandle *stale = NULL;
    CHECK_OK(session_db_connect(argv[1], &stale));
    session_db_close(stale);
    handle_checks(stale, NullPointer); /* closed: refused, and closed again at the end */
    session_db_close(stale);           /* double close */
    CHECK(session_db_last_error_code() == NullPointer && strstr(session_db_last_error(), "not open"),
          "double close reported: %s", session_db_last_error());
    session_db_close(NULL);

    null_arguments(db);
    invalid_utf8(db);
    upstream_functions(db);
    agent_client(argv[1], db);
    bad_messages(db);
    out_of_range(db);

    /* the good handle still works after all that */
    int64_t messages = 0;
    CHECK_OK(session_db_get_stats(db, NULL, NULL, &messages));
    CHECK(messages == 3, "exactly the corrected batch was stored: %lld", (long long)messages);
    session_db_close(db);
    return check_summary();
}
