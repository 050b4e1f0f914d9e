/*
 * Calls every function of sessiondb.h and checks what it returns, plus the size and
 * field offsets of every struct against the original library's layout (LP64).
 *
 * usage: capi_all DB_PATH PROJECTS_ROOT SESSION_FILE
 *   PROJECTS_ROOT holds one Claude project "-work-demo" whose SESSION_FILE
 *   (abc.jsonl) has a user line with cwd /work/demo and an assistant line.
 * Prints "N passed, M failed"; exit status 1 on any failure.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sessiondb.h"
#include "check.h"

#define LAYOUT(type, size) CHECK(sizeof(type) == (size), "sizeof(%s) = %zu, want %d", #type, sizeof(type), (size))
#define FIELD(type, field, offset) \
    CHECK(offsetof(type, field) == (offset), "offsetof(%s, %s) = %zu, want %d", #type, #field, \
          offsetof(type, field), (offset))

static void check_layouts(void)
{
    CHECK(sizeof(void *) == 8, "the layout table is for LP64 platforms");
    CHECK(sizeof(enum SessionDbError) == 4 && sizeof(enum SearchOrderByC) == 4 && sizeof(enum ApprovalStatusC) == 4,
          "enums are C int");
    CHECK(Success == 0 && NullPointer == 1 && InvalidUtf8 == 2 && DatabaseError == 3 && CoordinationError == 4 &&
          PermissionDenied == 5 && Unknown == 99, "SessionDbError values");
    CHECK(Score == 0 && TimeDesc == 1 && TimeAsc == 2, "SearchOrderByC values");
    CHECK(Pending == 0 && Approved == 1 && Rejected == 2 && Timeout == 3, "ApprovalStatusC values");

    LAYOUT(CollectResultC, 40);
    FIELD(CollectResultC, projects_scanned, 0); FIELD(CollectResultC, sessions_scanned, 8);
    FIELD(CollectResultC, messages_inserted, 16); FIELD(CollectResultC, error_count, 24);
    FIELD(CollectResultC, first_error, 32);
    LAYOUT(Project, 48);
    FIELD(Project, id, 0); FIELD(Project, name, 8); FIELD(Project, path, 16); FIELD(Project, source, 24);
    FIELD(Project, created_at, 32); FIELD(Project, updated_at, 40);
    LAYOUT(ProjectArray, 16); FIELD(ProjectArray, data, 0); FIELD(ProjectArray, len, 8);
    LAYOUT(Session, 56);
    FIELD(Session, id, 0); FIELD(Session, session_id, 8); FIELD(Session, project_id, 16);
    FIELD(Session, message_count, 24); FIELD(Session, last_message_at, 32); FIELD(Session, created_at, 40);
    FIELD(Session, updated_at, 48);
    LAYOUT(SessionArray, 16); FIELD(SessionArray, data, 0); FIELD(SessionArray, len, 8);
    LAYOUT(MessageInputC, 40);
    FIELD(MessageInputC, uuid, 0); FIELD(MessageInputC, role, 8); FIELD(MessageInputC, content, 16);
    FIELD(MessageInputC, timestamp, 24); FIELD(MessageInputC, sequence, 32);
    LAYOUT(MessageC, 64);
    FIELD(MessageC, id, 0); FIELD(MessageC, session_id, 8); FIELD(MessageC, uuid, 16); FIELD(MessageC, role, 24);
    FIELD(MessageC, content, 32); FIELD(MessageC, timestamp, 40); FIELD(MessageC, sequence, 48);
    FIELD(MessageC, raw, 56);
    LAYOUT(MessageArray, 16); FIELD(MessageArray, data, 0); FIELD(MessageArray, len, 8);
    LAYOUT(SearchResultC, 72);
    FIELD(SearchResultC, message_id, 0); FIELD(SearchResultC, session_id, 8); FIELD(SearchResultC, project_id, 16);
    FIELD(SearchResultC, project_name, 24); FIELD(SearchResultC, role, 32); FIELD(SearchResultC, content, 40);
    FIELD(SearchResultC, snippet, 48); FIELD(SearchResultC, score, 56); FIELD(SearchResultC, timestamp, 64);
    LAYOUT(SearchResultArray, 16); FIELD(SearchResultArray, data, 0); FIELD(SearchResultArray, len, 8);
    LAYOUT(IndexableMessageC, 40);
    FIELD(IndexableMessageC, uuid, 0); FIELD(IndexableMessageC, role, 8); FIELD(IndexableMessageC, content, 16);
    FIELD(IndexableMessageC, timestamp, 24); FIELD(IndexableMessageC, sequence, 32);
    LAYOUT(IndexableMessageArray, 16); FIELD(IndexableMessageArray, data, 0); FIELD(IndexableMessageArray, len, 8);
    LAYOUT(IndexableSessionC, 40);
    FIELD(IndexableSessionC, session_id, 0); FIELD(IndexableSessionC, project_path, 8);
    FIELD(IndexableSessionC, project_name, 16); FIELD(IndexableSessionC, messages, 24);
    LAYOUT(ParseResult, 16); FIELD(ParseResult, session, 0); FIELD(ParseResult, error, 8);
    LAYOUT(ProjectInfoC, 40);
    FIELD(ProjectInfoC, encoded_name, 0); FIELD(ProjectInfoC, path, 8); FIELD(ProjectInfoC, name, 16);
    FIELD(ProjectInfoC, session_count, 24); FIELD(ProjectInfoC, last_active, 32);
    LAYOUT(ProjectInfoArray, 16); FIELD(ProjectInfoArray, data, 0); FIELD(ProjectInfoArray, len, 8);
    LAYOUT(SessionMetaC, 56);
    FIELD(SessionMetaC, id, 0); FIELD(SessionMetaC, project_path, 8); FIELD(SessionMetaC, project_name, 16);
    FIELD(SessionMetaC, encoded_dir_name, 24); FIELD(SessionMetaC, session_path, 32);
    FIELD(SessionMetaC, file_mtime, 40); FIELD(SessionMetaC, message_count, 48);
    LAYOUT(SessionMetaArray, 16); FIELD(SessionMetaArray, data, 0); FIELD(SessionMetaArray, len, 8);
    LAYOUT(ParsedMessageC, 40);
    FIELD(ParsedMessageC, uuid, 0); FIELD(ParsedMessageC, session_id, 8); FIELD(ParsedMessageC, message_type, 16);
    FIELD(ParsedMessageC, content, 24); FIELD(ParsedMessageC, timestamp, 32);
    LAYOUT(MessagesResultC, 32);
    FIELD(MessagesResultC, messages, 0); FIELD(MessagesResultC, message_count, 8); FIELD(MessagesResultC, total, 16);
    FIELD(MessagesResultC, has_more, 24);
}

static void check_versions(void)
{
    CHECK_OK(session_db_initialize());
    CHECK(strcmp(session_db_version(), "") != 0, "version is set");
    CHECK(strchr(session_db_python_version(), '.') != NULL, "python version looks like X.Y.Z: %s",
          session_db_python_version());
    CHECK(session_db_last_error() != NULL, "last error is never NULL");
}

static int64_t check_projects_and_sessions(SessionDbHandle *db)
{
    int64_t pid = 0, again = 0;
    CHECK_OK(session_db_upsert_project(db, "demo", "/work/demo", "claude", &pid));
    CHECK(pid > 0, "project id %lld", (long long)pid);
    CHECK_OK(session_db_upsert_project(db, "renamed", "/work/demo", "codex", &again));
    CHECK(again == pid, "same path, same id");
    int64_t other = 0;
    CHECK_OK(session_db_upsert_project(db, "单文件", "/work/中文 path", "codex", &other));

    ProjectArray *projects = NULL;
    CHECK_OK(session_db_list_projects(db, &projects));
    CHECK(projects && projects->len == 2, "2 projects");
    int found = 0;
    for (uintptr_t i = 0; projects && i < projects->len; i++)
        if (projects->data[i].id == pid)
            found = strcmp(projects->data[i].name, "demo") == 0 && strcmp(projects->data[i].source, "claude") == 0 &&
                    projects->data[i].created_at > 0 && projects->data[i].updated_at >= projects->data[i].created_at;
        else
            CHECK(strcmp(projects->data[i].name, "单文件") == 0, "UTF-8 round trip");
    CHECK(found, "first project kept its name and source");
    session_db_free_projects(projects);

    CHECK_OK(session_db_upsert_session(db, "s-1", pid));
    CHECK_OK(session_db_upsert_session(db, "s-2", pid));
    SessionArray *sessions = NULL;
    CHECK_OK(session_db_list_sessions(db, pid, &sessions));
    CHECK(sessions && sessions->len == 2, "2 sessions");
    for (uintptr_t i = 0; sessions && i < sessions->len; i++)
        CHECK(sessions->data[i].project_id == pid && sessions->data[i].last_message_at == -1 &&
              sessions->data[i].message_count == 0, "fresh session row");
    session_db_free_sessions(sessions);
    sessions = NULL;
    CHECK_OK(session_db_list_sessions(db, 987654, &sessions));
    CHECK(sessions && sessions->len == 0, "no sessions for an unknown project");
    session_db_free_sessions(sessions);

    int64_t checkpoint = 0;
    CHECK_OK(session_db_get_scan_checkpoint(db, "s-2", &checkpoint));
    CHECK(checkpoint == -1, "no checkpoint yet: %lld", (long long)checkpoint);
    CHECK_OK(session_db_update_session_last_message(db, "s-2", 1234567890));
    CHECK_OK(session_db_get_scan_checkpoint(db, "s-2", &checkpoint));
    CHECK(checkpoint == 1234567890, "checkpoint stored");
    CHECK_OK(session_db_get_scan_checkpoint(db, "nope", &checkpoint));
    CHECK(checkpoint == -1, "unknown session has no checkpoint");
    CHECK_OK(session_db_update_session_last_message(db, "nope", 5));
    return pid;
}

static void check_messages(SessionDbHandle *db)
{
    MessageInputC batch[4] = {
        {"m-1", 0, "the database is locked again", 1760000000000LL, 0},
        {"m-2", 1, "Use BEGIN IMMEDIATE: database locked errors stop", 1760000001000LL, 1},
        {"m-3", 2, "[Tool: Bash] {\"cmd\": \"ls\"}", 1760000002000LL, 2},
        {"m-4", 3, "系统提示：单文件数据库", 1760000003000LL, 3},
    };
    uintptr_t inserted = 0;
    CHECK_OK(session_db_insert_messages(db, "s-1", batch, 4, &inserted));
    CHECK(inserted == 4, "4 inserted: %zu", (size_t)inserted);
    CHECK_OK(session_db_insert_messages(db, "s-1", batch, 4, &inserted));
    CHECK(inserted == 0, "duplicates skipped");
    CHECK_OK(session_db_insert_messages(db, "s-1", batch, 0, NULL));
    CHECK_RC(session_db_insert_messages(db, "no-such-session", batch, 1, &inserted), DatabaseError);

    MessageArray *messages = NULL;
    CHECK_OK(session_db_list_messages(db, "s-1", SIZE_MAX, 0, &messages));
    CHECK(messages && messages->len == 4, "4 messages");
    for (uintptr_t i = 0; messages && i < messages->len; i++) {
        CHECK(messages->data[i].sequence == (int64_t)i && messages->data[i].role == (int32_t)i,
              "sequence order and role codes");
        CHECK(strcmp(messages->data[i].content, batch[i].content) == 0, "content round trip");
        CHECK(strcmp(messages->data[i].session_id, "s-1") == 0 && messages->data[i].raw == NULL, "fields");
    }
    session_db_free_messages(messages);
    messages = NULL;
    CHECK_OK(session_db_list_messages(db, "s-1", 2, 1, &messages));
    CHECK(messages && messages->len == 2 && strcmp(messages->data[0].uuid, "m-2") == 0, "page of 2 from 1");
    session_db_free_messages(messages);
    messages = NULL;
    CHECK_OK(session_db_list_messages(db, "s-1", 0, 0, &messages));
    CHECK(messages && messages->len == 0 && messages->data == NULL, "limit 0: empty, data NULL");
    session_db_free_messages(messages);

    int64_t projects = -1, sessions = -1, count = -1;
    CHECK_OK(session_db_get_stats(db, &projects, &sessions, &count));
    CHECK(projects == 2 && sessions == 2 && count == 4, "stats %lld %lld %lld", (long long)projects,
          (long long)sessions, (long long)count);
    CHECK_OK(session_db_get_stats(db, NULL, NULL, NULL));
}

static void check_search(SessionDbHandle *db, int64_t pid)
{
    SearchResultArray *hits = NULL;
    CHECK_OK(session_db_search_fts(db, "\"database is locked\"", 10, &hits));
    CHECK(hits && hits->len == 1, "phrase search finds exactly the phrase: %zu", hits ? (size_t)hits->len : 0);
    if (hits && hits->len == 1) {
        SearchResultC *h = &hits->data[0];
        CHECK(strcmp(h->session_id, "s-1") == 0 && h->project_id == pid && strcmp(h->project_name, "demo") == 0 &&
              strcmp(h->role, "user") == 0 && h->timestamp == 1760000000000LL, "hit fields");
        CHECK(strstr(h->snippet, "<mark>") != NULL && strstr(h->content, "locked again") != NULL, "snippet marks");
    }
    session_db_free_search_results(hits);

    hits = NULL;
    CHECK_OK(session_db_search_fts(db, "database locked", 10, &hits));
    CHECK(hits && hits->len == 2, "words are ANDed: %zu", hits ? (size_t)hits->len : 0);
    session_db_free_search_results(hits);

    hits = NULL;
    CHECK_OK(session_db_search_fts(db, "", 10, &hits));
    CHECK(hits && hits->len == 0 && hits->data == NULL, "empty query: no results, no error");
    session_db_free_search_results(hits);

    hits = NULL;
    CHECK_OK(session_db_search_fts(db, "\"unbalanced ( AND NEAR", 10, &hits));
    CHECK(hits != NULL, "odd syntax is not an error");
    session_db_free_search_results(hits);

    hits = NULL;
    CHECK_OK(session_db_search_fts_with_project(db, "database", 10, pid, &hits));
    CHECK(hits && hits->len == 2, "project filter");
    session_db_free_search_results(hits);
    hits = NULL;
    CHECK_OK(session_db_search_fts_with_project(db, "database", 10, pid + 1000, &hits));
    CHECK(hits && hits->len == 0, "other project has none");
    session_db_free_search_results(hits);

    hits = NULL;
    CHECK_OK(session_db_search_fts_with_options(db, "database", 10, -1, TimeAsc, &hits));
    CHECK(hits && hits->len == 2 && hits->data[0].timestamp < hits->data[1].timestamp, "oldest first");
    session_db_free_search_results(hits);

    hits = NULL;
    CHECK_OK(session_db_search_fts_full(db, "database", 10, -1, TimeDesc, 1760000001000LL, -1, &hits));
    CHECK(hits && hits->len == 1 && strcmp(hits->data[0].role, "assistant") == 0, "since bound is inclusive");
    session_db_free_search_results(hits);

    hits = NULL;
    CHECK_OK(session_db_search_fts(db, "单文件", 10, &hits));
    CHECK(hits && hits->len == 1 && strcmp(hits->data[0].role, "system") == 0, "CJK substring");
    session_db_free_search_results(hits);

    SessionDbSearchOptions options;
    session_db_search_options_init(&options);
    CHECK(options.limit == 20 && options.project_id == -1 && options.role == -1 && options.order_by == Score &&
          options.start_timestamp == -1 && options.end_timestamp == -1 && options.query == NULL, "defaults");
    options.query = "database";
    options.role = 1;
    options.highlight_open = "[";
    options.highlight_close = "]";
    options.session_prefix = "s-";
    hits = NULL;
    CHECK_OK(session_db_search(db, &options, &hits));
    CHECK(hits && hits->len == 1 && strstr(hits->data[0].snippet, "[database]") != NULL, "role + markers");
    session_db_free_search_results(hits);
    options.role = -1;
    options.offset = 1;
    options.limit = 5;
    hits = NULL;
    CHECK_OK(session_db_search(db, &options, &hits));
    CHECK(hits && hits->len == 1, "offset skips one of two");
    session_db_free_search_results(hits);
    options.offset = 0;
    options.source = "codex";
    hits = NULL;
    CHECK_OK(session_db_search(db, &options, &hits));
    CHECK(hits && hits->len == 0, "source filter");
    session_db_free_search_results(hits);
    session_db_search_options_init(NULL);
}

static void check_approvals_and_maintenance(SessionDbHandle *db)
{
    uintptr_t updated = 99;
    CHECK_OK(session_db_update_approval_status_by_tool_call_id(db, "toolu_none", Approved, 1760000005000LL, &updated));
    CHECK(updated == 0, "no message with that tool call id");
    CHECK_OK(session_db_update_approval_status_by_tool_call_id(db, "toolu_none", Pending, 0, NULL));

    int64_t frames = -5, copied = -5;
    CHECK_OK(session_db_checkpoint(db, SESSION_DB_CHECKPOINT_PASSIVE, &frames, &copied));
    CHECK(frames >= 0 && copied >= 0, "checkpoint frames %lld %lld", (long long)frames, (long long)copied);
    CHECK_OK(session_db_checkpoint(db, SESSION_DB_CHECKPOINT_TRUNCATE, NULL, NULL));
    bool ok = false;
    char *report = NULL;
    CHECK_OK(session_db_integrity_check(db, false, &ok, &report));
    CHECK(ok && report && strcmp(report, "ok") == 0, "integrity ok");
    session_db_free_string(report);
    CHECK_OK(session_db_integrity_check(db, true, &ok, NULL));
    CHECK(ok, "quick check ok");
}

/* Skips the checks of a part the build reports as missing. */
static int available(int rc)
{
    if (rc != 0 && strstr(session_db_last_error(), "not available in this build")) {
        printf("SKIP: %s\n", session_db_last_error());
        return 0;
    }
    return 1;
}

static void check_coordination(const char *db_path)
{
    SessionDbHandle *a = NULL, *b = NULL;
    /* short coordination timing so the background loop acts within the test */
    CHECK_OK(session_db_connect_with_options(db_path, false, 100, 1000, 2, &a));
    CHECK_OK(session_db_connect_with_options(db_path, false, 100, 1000, 2, &b));
    int32_t role = -7, health = -7, taken = -7;
    CHECK_OK(session_db_current_role(a, &role));
    CHECK(role == SESSION_DB_ROLE_UNREGISTERED, "never registered: %d", role);
    int rc = session_db_register_writer(a, SESSION_DB_WRITER_MEMEX_DAEMON, &role);
    if (available(rc)) {
        CHECK(rc == 0 && role == SESSION_DB_ROLE_WRITER, "first registration is the writer (rc %d role %d: %s)", rc,
              role, session_db_last_error());
        CHECK_OK(session_db_heartbeat(a));
        CHECK_OK(session_db_register_writer(b, SESSION_DB_WRITER_VLAUDE_DAEMON, &role));
        CHECK(role == SESSION_DB_ROLE_READER, "same priority: reader");
        CHECK_OK(session_db_check_writer_health(b, &health));
        CHECK(health == SESSION_DB_HEALTH_ALIVE, "writer alive: %d", health);
        CHECK_OK(session_db_try_takeover(b, &taken));
        CHECK(taken == 0, "no takeover of a live writer");
        int64_t pid = 0;
        CHECK_RC(session_db_upsert_project(b, "x", "/x", "claude", &pid), PermissionDenied);
        CHECK_OK(session_db_release_writer(a));
        CHECK_OK(session_db_check_writer_health(b, &health));
        CHECK(health == SESSION_DB_HEALTH_RELEASED, "released: %d", health);
        CHECK_OK(session_db_try_takeover(b, &taken));
        CHECK(taken == 1, "takeover after release");
        CHECK_OK(session_db_current_role(b, &role));
        CHECK(role == SESSION_DB_ROLE_WRITER, "b is the writer");
        CHECK_RC(session_db_heartbeat(a), PermissionDenied);
        CHECK_OK(session_db_wait_role_change(a, SESSION_DB_ROLE_WRITER, 1000, &role));
        CHECK(role == SESSION_DB_ROLE_READER, "a sees it is a reader: %d", role);
        /* a higher priority preempts */
        CHECK_OK(session_db_coordinator_step(a, SESSION_DB_WRITER_MEMEX_KIT, &role));
        CHECK(role == SESSION_DB_ROLE_WRITER, "MemexKit preempts a daemon: %d", role);
        CHECK_OK(session_db_coordinator_step(a, SESSION_DB_WRITER_MEMEX_KIT, &role));
        CHECK(role == SESSION_DB_ROLE_WRITER, "a second step keeps the role");
        CHECK_OK(session_db_heartbeat(a));
        CHECK_RC(session_db_heartbeat(b), PermissionDenied);
        CHECK_OK(session_db_coordinator_start(b, SESSION_DB_WRITER_VLAUDE_DAEMON, &role));
        CHECK(role == SESSION_DB_ROLE_READER, "background reader");
        CHECK_OK(session_db_coordinator_start(b, SESSION_DB_WRITER_VLAUDE_DAEMON, NULL));
        CHECK_OK(session_db_coordinator_stop(a, true));
        CHECK_OK(session_db_wait_role_change(b, SESSION_DB_ROLE_READER, 30000, &role));
        CHECK(role == SESSION_DB_ROLE_WRITER, "b's background loop takes over after the release: %d", role);
        CHECK_OK(session_db_coordinator_stop(b, true));
        CHECK_OK(session_db_coordinator_stop(b, false));
    }
    session_db_close(a);
    session_db_close(b);
}

static void check_collection(const char *db_path, const char *session_file)
{
    SessionDbHandle *db = NULL;
    CHECK_OK(session_db_connect(db_path, &db));
    CollectResultC *result = NULL;
    int32_t role = -1;
    int rc = session_db_collect(db, &result);
    if (available(rc)) {
        CHECK(rc == PermissionDenied, "an unregistered handle may not collect: %d", rc);
        rc = session_db_register_writer_and_collect(db, SESSION_DB_WRITER_MEMEX_KIT, &role, &result);
        if (available(rc)) {
            CHECK(rc == 0 && role == SESSION_DB_ROLE_WRITER, "writer and collected (%d: %s)", rc,
                  session_db_last_error());
            CHECK(result != NULL && result->messages_inserted == 2, "2 messages from the fixture: %zu",
                  result ? (size_t)result->messages_inserted : 0);
            session_db_free_collect_result(result);
            result = NULL;
            CHECK_OK(session_db_collect(db, &result));
            CHECK(result && result->messages_inserted == 0, "a rescan inserts nothing");
            session_db_free_collect_result(result);
            result = NULL;
            CHECK_OK(session_db_collect_by_path(db, session_file, &result));
            CHECK(result && result->messages_inserted == 0 && result->first_error == NULL, "collect one file");
            session_db_free_collect_result(result);
            SearchResultArray *hits = NULL;
            CHECK_OK(session_db_search_fts(db, "hello from the file", 5, &hits));
            CHECK(hits && hits->len == 1, "collected text is searchable");
            session_db_free_search_results(hits);
            CHECK_OK(session_db_release_writer(db));
        }
    }
    session_db_close(db);
}

static void check_files(const char *root, const char *session_file)
{
    ParseResult parsed = session_db_parse_jsonl(session_file);
    if (!available(parsed.error))
        return;
    CHECK(parsed.error == Success && parsed.session != NULL, "parsed (%d: %s)", parsed.error, session_db_last_error());
    if (parsed.session) {
        IndexableSessionC *s = parsed.session;
        CHECK(strcmp(s->session_id, "abc") == 0 && strcmp(s->project_path, "/work/demo") == 0 &&
              strcmp(s->project_name, "demo") == 0, "session fields");
        CHECK(s->messages.len == 2 && strcmp(s->messages.data[0].role, "user") == 0 &&
              strcmp(s->messages.data[1].role, "assistant") == 0 && s->messages.data[0].timestamp > 0 &&
              s->messages.data[1].sequence == 1, "messages");
    }
    session_db_free_parse_result(parsed.session);

    char *path = session_db_get_session_path(root, "abc");
    CHECK(path && strcmp(path, session_file) == 0, "session path: %s", path ? path : "(null)");
    session_db_free_string(path);
    path = session_db_get_session_path(root, "missing");
    CHECK(path == NULL, "missing session: NULL");
    char *encoded = session_db_get_encoded_dir_name(root, "/work/demo");
    CHECK(encoded && strcmp(encoded, "-work-demo") == 0, "encoded dir: %s", encoded ? encoded : "(null)");
    session_db_free_string(encoded);
    char *computed = session_db_compute_session_path(root, "-work-demo", "abc");
    CHECK(computed && strcmp(computed, session_file) == 0, "computed path: %s", computed ? computed : "(null)");
    session_db_free_string(computed);
    computed = session_db_compute_session_path(root, "..", "abc");
    CHECK(computed == NULL && session_db_last_error()[0], "traversal refused");

    ProjectInfoArray *projects = NULL;
    CHECK_OK(session_db_list_file_projects(root, 0, &projects));
    CHECK(projects && projects->len == 1 && strcmp(projects->data[0].encoded_name, "-work-demo") == 0 &&
          strcmp(projects->data[0].path, "/work/demo") == 0 && projects->data[0].session_count == 1 &&
          projects->data[0].last_active > 0, "file projects");
    session_db_free_project_list(projects);

    SessionMetaArray *metas = NULL;
    CHECK_OK(session_db_list_session_metas(root, NULL, &metas));
    CHECK(metas && metas->len == 1 && strcmp(metas->data[0].id, "abc") == 0 &&
          strcmp(metas->data[0].session_path, session_file) == 0 && metas->data[0].file_mtime > 0, "metas");
    session_db_free_session_meta_list(metas);
    metas = NULL;
    CHECK_OK(session_db_list_session_metas(root, "/elsewhere", &metas));
    CHECK(metas && metas->len == 0 && metas->data == NULL, "filtered to nothing");
    session_db_free_session_meta_list(metas);

    SessionMetaC *latest = NULL;
    CHECK_OK(session_db_find_latest_session(root, "/work/demo", 0, &latest));
    CHECK(latest && strcmp(latest->id, "abc") == 0, "latest session");
    session_db_free_session_meta(latest);
    latest = (SessionMetaC *)1;
    CHECK_OK(session_db_find_latest_session(root, "/nowhere", 0, &latest));
    CHECK(latest == NULL, "no session: NULL");

    MessagesResultC *page = NULL;
    CHECK_OK(session_db_read_session_messages(session_file, 1, 0, true, &page));
    CHECK(page && page->message_count == 1 && page->total == 2 && page->has_more &&
          page->messages[0].message_type == 0 && page->messages[0].timestamp != NULL, "first page");
    session_db_free_messages_result(page);
    page = NULL;
    CHECK_OK(session_db_read_session_messages(session_file, 0, 0, false, &page));
    CHECK(page && page->message_count == 2 && !page->has_more && page->messages[0].message_type == 1, "desc, all");
    session_db_free_messages_result(page);
    page = NULL;
    CHECK_OK(session_db_read_session_messages("/no/such/file.jsonl", 0, 0, true, &page));
    CHECK(page && page->message_count == 0 && page->total == 0 && page->messages == NULL, "missing file: empty");
    session_db_free_messages_result(page);
}

static void check_read_only(const char *db_path)
{
    SessionDbHandle *reader = NULL;
    CHECK_OK(session_db_connect_with_options(db_path, true, 0, 0, 0, &reader));
    int64_t pid = 0, count = 0;
    CHECK_RC(session_db_upsert_project(reader, "x", "/x", "claude", &pid), PermissionDenied);
    CHECK_OK(session_db_get_stats(reader, NULL, NULL, &count));
    CHECK(count >= 4, "reads work");
    session_db_close(reader);
}

static void check_free_functions_accept_null(void)
{
    session_db_free_projects(NULL);
    session_db_free_sessions(NULL);
    session_db_free_messages(NULL);
    session_db_free_search_results(NULL);
    session_db_free_string(NULL);
    session_db_free_parse_result(NULL);
    session_db_free_project_list(NULL);
    session_db_free_session_meta_list(NULL);
    session_db_free_session_meta(NULL);
    session_db_free_messages_result(NULL);
    session_db_free_collect_result(NULL);
    check_passed++;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s DB_PATH PROJECTS_ROOT SESSION_FILE\n", argv[0]);
        return 2;
    }
    check_layouts();
    check_versions();
    SessionDbHandle *db = NULL;
    CHECK_OK(session_db_connect(argv[1], &db));
    int64_t pid = check_projects_and_sessions(db);
    check_messages(db);
    check_search(db, pid);
    check_approvals_and_maintenance(db);
    session_db_close(db);
    check_read_only(argv[1]);
    check_coordination(argv[1]);
    check_collection(argv[1], argv[3]);
    check_files(argv[2], argv[3]);
    check_free_functions_accept_null();
    return check_summary();
}
