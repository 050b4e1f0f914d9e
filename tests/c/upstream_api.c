/*
 * A client of ai_cli_session_db.h, the upstream ABI: calls every function it declares
 * against libsessiondb and checks the upstream struct layouts. Compiled with
 * -DWITH_SESSIONDB_H it is a client of sessiondb.h instead, calling the same functions
 * there (the original layouts under the upstream names, the upstream layouts through
 * the session_db_v2_* functions).
 *
 * usage:
 *   upstream_api all DATA_DIR PROJECTS_ROOT SESSION_FILE SUBAGENT_FILE
 *       Every function, with the agent client end to end as the Writer. The database is
 *       DATA_DIR/db/ai-cli-session.db (the agent client's for that data_dir). SESSION_FILE
 *       is a Claude session "abc" of project /work/demo under PROJECTS_ROOT, SUBAGENT_FILE
 *       a subagent transcript of it. Prints "writer_notify_ms X" and "N passed, M failed".
 *   upstream_api serve
 *       A driver for tests with several processes: reads commands from stdin, one per
 *       line, and answers each with one line ("ok ...", or "error CODE MESSAGE"):
 *         create COMPONENT DATA_DIR | connect | connected | notify PATH
 *         approve TOOL_CALL_ID STATUS RESOLVED_AT | disconnect | destroy
 *         wait DB_PATH WORD TIMEOUT_MS     (until a search finds WORD: "ok found MS")
 *         notify-wait PATH DB_PATH WORD TIMEOUT_MS   (notify, then wait: "ok found MS")
 *         quit
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef WITH_SESSIONDB_H
#include "sessiondb.h"
/* The upstream layouts under their names in sessiondb.h. */
typedef SessionDbSessionV2 UpstreamSession;
typedef SessionDbSessionV2Array UpstreamSessionArray;
typedef SessionDbSessionMetaV2 UpstreamSessionMeta;
typedef SessionDbSessionMetaV2Array UpstreamSessionMetaArray;
#define list_upstream_sessions session_db_v2_list_sessions
#define free_upstream_sessions session_db_v2_free_sessions
#define list_upstream_metas session_db_v2_list_session_metas
#define free_upstream_metas session_db_v2_free_session_meta_list
#define find_upstream_latest session_db_v2_find_latest_session
#define free_upstream_meta session_db_v2_free_session_meta
#else
#include "ai_cli_session_db.h"
typedef Session UpstreamSession;
typedef SessionArray UpstreamSessionArray;
typedef SessionMetaC UpstreamSessionMeta;
typedef SessionMetaArray UpstreamSessionMetaArray;
#define list_upstream_sessions session_db_list_sessions
#define free_upstream_sessions session_db_free_sessions
#define list_upstream_metas session_db_list_session_metas
#define free_upstream_metas session_db_free_session_meta_list
#define find_upstream_latest session_db_find_latest_session
#define free_upstream_meta session_db_free_session_meta
#endif
#include "check.h"

#define LAYOUT(type, size) CHECK(sizeof(type) == (size), "sizeof(%s) = %zu, want %d", #type, sizeof(type), (size))
#define FIELD(type, field, offset) \
    CHECK(offsetof(type, field) == (offset), "offsetof(%s, %s) = %zu, want %d", #type, #field, \
          offsetof(type, field), (offset))

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void check_layouts(void)
{
    CHECK(Success == 0 && NullPointer == 1 && InvalidUtf8 == 2 && DatabaseError == 3 && CoordinationError == 4 &&
          PermissionDenied == 5 && ConnectionFailed == 6 && NotConnected == 7 && RequestFailed == 8 &&
          AgentNotFound == 9 && RuntimeError == 10 && Unknown == 99, "FfiError values");
    CHECK(sizeof(FfiError) == 4, "FfiError is a C int");
    LAYOUT(UpstreamSession, 72);
    FIELD(UpstreamSession, id, 0); FIELD(UpstreamSession, session_id, 8); FIELD(UpstreamSession, project_id, 16);
    FIELD(UpstreamSession, message_count, 24); FIELD(UpstreamSession, last_message_at, 32);
    FIELD(UpstreamSession, session_type, 40); FIELD(UpstreamSession, source, 48);
    FIELD(UpstreamSession, created_at, 56); FIELD(UpstreamSession, updated_at, 64);
    LAYOUT(UpstreamSessionMeta, 80);
    FIELD(UpstreamSessionMeta, message_count, 48); FIELD(UpstreamSessionMeta, last_message_type, 56);
    FIELD(UpstreamSessionMeta, last_message_preview, 64); FIELD(UpstreamSessionMeta, last_message_at, 72);
#ifdef WITH_SESSIONDB_H
    LAYOUT(Session, 56);
    LAYOUT(SessionMetaC, 56);
#endif
    LAYOUT(SessionRelationC, 40);
    FIELD(SessionRelationC, parent_session_id, 0); FIELD(SessionRelationC, child_session_id, 8);
    FIELD(SessionRelationC, relation_type, 16); FIELD(SessionRelationC, source, 24);
    FIELD(SessionRelationC, created_at, 32);
    LAYOUT(SessionRelationArray, 16);
    LAYOUT(ParseResult, 16); FIELD(ParseResult, error, 8);
    LAYOUT(Project, 48); LAYOUT(MessageC, 64); LAYOUT(SearchResultC, 72); LAYOUT(ProjectInfoC, 40);
    LAYOUT(MessagesResultC, 32); LAYOUT(CollectResultC, 40); LAYOUT(MessageInputC, 40);
}

static int append_line(const char *path, const char *line)
{
    FILE *f = fopen(path, "a");
    if (!f)
        return -1;
    fputs(line, f);
    fputc('\n', f);
    return fclose(f);
}

static uintptr_t hits_for(SessionDbHandle *db, const char *word)
{
    SearchResultArray *hits = NULL;
    if (session_db_search_fts(db, word, 10, &hits) != Success)
        return 0;
    uintptr_t n = hits ? hits->len : 0;
    session_db_free_search_results(hits);
    return n;
}

/* ------------------------------------------------------------------ all */

static void session_db_functions(const char *db_path, const char *root, const char *session_file)
{
    SessionDbHandle *db = NULL;
    CHECK_OK(session_db_connect(db_path, &db));
    int64_t projects = -1, sessions = -1, messages = -1;
    CHECK_OK(session_db_get_stats(db, &projects, &sessions, &messages));
    CHECK(projects >= 1 && sessions >= 2 && messages >= 3, "stats %lld %lld %lld", (long long)projects,
          (long long)sessions, (long long)messages);

    ProjectArray *project_list = NULL;
    CHECK_OK(session_db_list_projects(db, &project_list));
    int64_t demo = -1;
    for (uintptr_t i = 0; project_list && i < project_list->len; i++)
        if (strcmp(project_list->data[i].path, "/work/demo") == 0)
            demo = project_list->data[i].id;
    CHECK(demo > 0, "project /work/demo listed");
    session_db_free_projects(project_list);

    UpstreamSessionArray *session_list = NULL;
    CHECK_OK(list_upstream_sessions(db, demo, &session_list));
    int main_seen = 0, subagent_seen = 0;
    for (uintptr_t i = 0; session_list && i < session_list->len; i++) {
        UpstreamSession *s = &session_list->data[i];
        CHECK(s->source && strcmp(s->source, "claude") == 0, "source of %s", s->session_id);
        CHECK(s->created_at > 0 && s->updated_at >= s->created_at, "times of %s", s->session_id);
        if (strcmp(s->session_id, "abc") == 0)
            main_seen = s->session_type && strcmp(s->session_type, "main") == 0 && s->message_count >= 3;
        else
            subagent_seen = s->session_type && strcmp(s->session_type, "subagent") == 0;
    }
    CHECK(main_seen && subagent_seen, "v2 sessions: main %d subagent %d", main_seen, subagent_seen);
    free_upstream_sessions(session_list);
#ifdef WITH_SESSIONDB_H
    SessionArray *original_sessions = NULL;
    CHECK_OK(session_db_list_sessions(db, demo, &original_sessions));
    CHECK(original_sessions && original_sessions->len == 2, "the original layout lists the same sessions");
    session_db_free_sessions(original_sessions);
#endif

    /* relations */
    SessionRelationArray *children = NULL;
    CHECK_OK(session_db_get_children_sessions(db, "abc", &children));
    CHECK(children && children->len == 1, "one child: %zu", children ? (size_t)children->len : 0);
    char child[128] = "";
    if (children && children->len == 1) {
        SessionRelationC *r = &children->data[0];
        CHECK(strcmp(r->parent_session_id, "abc") == 0 && strcmp(r->relation_type, "subagent") == 0 &&
              strcmp(r->source, "claude") == 0 && r->created_at > 0, "child relation fields");
        snprintf(child, sizeof child, "%s", r->child_session_id);
    }
    session_db_free_session_relations(children);
    SessionRelationC *parent = NULL;
    CHECK_OK(session_db_get_parent_session(db, child, &parent));
    CHECK(parent && strcmp(parent->parent_session_id, "abc") == 0 && strcmp(parent->child_session_id, child) == 0,
          "parent of %s", child);
    session_db_free_session_relation(parent);
    parent = (SessionRelationC *)1;
    CHECK_OK(session_db_get_parent_session(db, "abc", &parent));
    CHECK(parent == NULL, "a main session has no parent");
    children = NULL;
    CHECK_OK(session_db_get_children_sessions(db, "no-such-session", &children));
    CHECK(children && children->len == 0 && children->data == NULL, "no children");
    session_db_free_session_relations(children);

    /* reads */
    int64_t checkpoint = 0;
    CHECK_OK(session_db_get_scan_checkpoint(db, "no-such-session", &checkpoint));
    CHECK(checkpoint == -1, "no checkpoint");
    MessageArray *page = NULL;
    CHECK_OK(session_db_list_messages(db, "abc", 2, 0, &page));
    CHECK(page && page->len == 2 && page->data[0].raw != NULL, "a page of messages");
    session_db_free_messages(page);
    SearchResultArray *hits = NULL;
    CHECK_OK(session_db_search_fts_with_project(db, "sqlite", 10, demo, &hits));
    CHECK(hits && hits->len >= 1, "search in project");
    session_db_free_search_results(hits);
    hits = NULL;
    CHECK_OK(session_db_search_fts_with_options(db, "sqlite", 10, -1, TimeDesc, &hits));
    CHECK(hits && hits->len >= 1 && hits->data[0].timestamp > 0, "search with options");
    session_db_free_search_results(hits);
    hits = NULL;
    CHECK_OK(session_db_search_fts_full(db, "sqlite", 10, -1, TimeAsc, 0, INT64_MAX, &hits));
    CHECK(hits && hits->len >= 1, "search full");
    session_db_free_search_results(hits);

    /* writes: refused while the agent client is the Writer, allowed with the role */
    int64_t pid = 0;
    CHECK_RC(session_db_upsert_project(db, "other", "/work/other", "claude", &pid), PermissionDenied);
    int32_t role = -1, health = -1, taken = -1;
    CHECK_OK(session_db_check_writer_health(db, &health));
    CHECK(health == 0, "the agent client is the live writer: %d", health);
    CHECK_OK(session_db_register_writer(db, 0 /* MemexDaemon, below MemexKit */, &role));
    CHECK(role == 1, "a lower priority stays Reader: %d", role);
    CHECK_OK(session_db_try_takeover(db, &taken));
    CHECK(taken == 0, "no takeover from a live writer");
    session_db_close(db);

    /* files */
    ParseResult parsed = session_db_parse_jsonl(session_file);
    CHECK(parsed.error == Success && parsed.session && parsed.session->messages.len >= 3, "parse_jsonl");
    session_db_free_parse_result(parsed.session);
    char *path = session_db_get_session_path(root, "abc");
    CHECK(path && strcmp(path, session_file) == 0, "session path %s", path ? path : "(null)");
    session_db_free_string(path);
    char *encoded = session_db_get_encoded_dir_name(root, "/work/demo");
    CHECK(encoded && strcmp(encoded, "-work-demo") == 0, "encoded dir");
    session_db_free_string(encoded);
    char *computed = session_db_compute_session_path(root, "-work-demo", "abc");
    CHECK(computed && strcmp(computed, session_file) == 0, "computed path");
    session_db_free_string(computed);
    ProjectInfoArray *infos = NULL;
    CHECK_OK(session_db_list_file_projects(root, 0, &infos));
    CHECK(infos && infos->len == 1 && infos->data[0].session_count == 1, "file projects");
    session_db_free_project_list(infos);
    UpstreamSessionMetaArray *metas = NULL;
    CHECK_OK(list_upstream_metas(root, "/work/demo", &metas));
    CHECK(metas && metas->len == 1, "one main session file");
    if (metas && metas->len == 1) {
        UpstreamSessionMeta *m = &metas->data[0];
        CHECK(strcmp(m->id, "abc") == 0 && m->message_count >= 3, "meta fields");
        CHECK(m->last_message_type && strcmp(m->last_message_type, "assistant") == 0, "last message type %s",
              m->last_message_type ? m->last_message_type : "(null)");
        CHECK(m->last_message_preview && strstr(m->last_message_preview, "zebracorn"), "last message preview %s",
              m->last_message_preview ? m->last_message_preview : "(null)");
        CHECK(m->last_message_at == 1768903205000LL, "last message time %lld", (long long)m->last_message_at);
    }
    free_upstream_metas(metas);
    UpstreamSessionMeta *latest = NULL;
    CHECK_OK(find_upstream_latest(root, "/work/demo", 0, &latest));
    CHECK(latest && strcmp(latest->id, "abc") == 0 && latest->last_message_at == 1768903205000LL, "latest session");
    free_upstream_meta(latest);
#ifdef WITH_SESSIONDB_H
    SessionMetaArray *original_metas = NULL;
    CHECK_OK(session_db_list_session_metas(root, "/work/demo", &original_metas));
    CHECK(original_metas && original_metas->len == 1 && strcmp(original_metas->data[0].id, "abc") == 0,
          "original layout metas");
    session_db_free_session_meta_list(original_metas);
    SessionMetaC *original_latest = NULL;
    CHECK_OK(session_db_find_latest_session(root, "/work/demo", 0, &original_latest));
    CHECK(original_latest && strcmp(original_latest->id, "abc") == 0, "original layout latest");
    session_db_free_session_meta(original_latest);
#endif
    MessagesResultC *result = NULL;
    CHECK_OK(session_db_read_session_messages(session_file, 1, 0, false, &result));
    CHECK(result && result->message_count == 1 && result->total >= 3 && result->has_more, "read messages");
    session_db_free_messages_result(result);
}

static void writes_and_collection(const char *db_path, const char *session_file)
{
    SessionDbHandle *db = NULL;
    CHECK_OK(session_db_connect(db_path, &db));
    int32_t role = -1;
    CHECK_OK(session_db_register_writer(db, 2, &role));
    CHECK(role == 0, "Writer once the agent client released the role: %d", role);
    CHECK_OK(session_db_heartbeat(db));
    int64_t pid = 0;
    CHECK_OK(session_db_upsert_project(db, "other", "/work/other", "claude", &pid));
    CHECK_OK(session_db_upsert_session(db, "other-1", pid));
    MessageInputC in[1] = {{"other-u1", 0, "written through upsert and insert", 1760000000000LL, 0}};
    uintptr_t inserted = 0;
    CHECK_OK(session_db_insert_messages(db, "other-1", in, 1, &inserted));
    CHECK(inserted == 1, "inserted %zu", (size_t)inserted);
    CHECK_OK(session_db_update_session_last_message(db, "other-1", 1760000000000LL));
    uintptr_t updated = 99;
    CHECK_OK(session_db_update_approval_status_by_tool_call_id(db, "no-such-call", Rejected, 1, &updated));
    CHECK(updated == 0, "no message of that call");
    CollectResultC *collected = NULL;
    CHECK_OK(session_db_collect_by_path(db, session_file, &collected));
    CHECK(collected && collected->messages_inserted == 0, "nothing new in the file");
    session_db_free_collect_result(collected);
    collected = NULL;
    CHECK_OK(session_db_collect(db, &collected));
    CHECK(collected != NULL, "collect");
    session_db_free_collect_result(collected);
    collected = NULL;
    CHECK_OK(session_db_register_writer_and_collect(db, 2, &role, &collected));
    session_db_free_collect_result(collected);
    CHECK_OK(session_db_release_writer(db));
    session_db_close(db);
}

static int run_all(const char *data_dir, const char *root, const char *session_file, const char *subagent_file)
{
    check_layouts();
    char db_path[4096];
    snprintf(db_path, sizeof db_path, "%s/db/ai-cli-session.db", data_dir);
    const char *version = agent_client_version();
    CHECK(version && strcmp(version, session_db_version()) == 0, "agent_client_version");

    AgentClientHandle *agent = NULL;
    CHECK_OK(agent_client_create("memexkit", data_dir, "/nowhere/agent-source", &agent));
    CHECK(!agent_client_is_connected(agent), "not connected after create");
    CHECK_RC(agent_client_notify_file_change(agent, session_file), NotConnected);
    CHECK_RC(agent_client_write_approve_result(agent, "toolu_e2e_1", Approved, 1), NotConnected);
    double t0 = now_ms();
    CHECK_OK(agent_client_connect(agent));
    double connect_ms = now_ms() - t0;
    CHECK(agent_client_is_connected(agent), "connected");
    CHECK_OK(agent_client_connect(agent)); /* again: a no-op */
    CHECK_OK(agent_client_notify_file_change(agent, session_file));
    CHECK_OK(agent_client_notify_file_change(agent, subagent_file));

    SessionDbHandle *reader = NULL;
    CHECK_OK(session_db_connect(db_path, &reader));
    CHECK(hits_for(reader, "sqlite") == 1, "the notified file is stored");

    /* an append, notified: searchable when the call returns */
    CHECK(append_line(session_file,
                      "{\"uuid\":\"u-3\",\"type\":\"assistant\",\"cwd\":\"/work/demo\",\"sessionId\":\"abc\","
                      "\"timestamp\":\"2026-01-20T10:00:05.000Z\",\"message\":{\"role\":\"assistant\",\"content\":"
                      "[{\"type\":\"text\",\"text\":\"the zebracorn answer\"},{\"type\":\"tool_use\","
                      "\"id\":\"toolu_e2e_1\",\"name\":\"Bash\",\"input\":{\"command\":\"ls\"}}]}}") == 0,
          "append");
    t0 = now_ms();
    CHECK_OK(agent_client_notify_file_change(agent, session_file));
    double notify_ms = now_ms() - t0;
    CHECK(hits_for(reader, "zebracorn") == 1, "appended line searchable right after notify_file_change");
    printf("connect_ms %.2f\nwriter_notify_ms %.2f\n", connect_ms, notify_ms);
    CHECK_OK(agent_client_write_approve_result(agent, "toolu_e2e_1", Approved, 1768903210000LL));
    CHECK_RC(agent_client_write_approve_result(agent, "toolu_e2e_1", (enum ApprovalStatusC)7, 1), Unknown);
    CHECK_RC(agent_client_notify_file_change(agent, "/not/a/session/root/x.jsonl"), RequestFailed);

    session_db_functions(db_path, root, session_file);

    agent_client_disconnect(agent);
    CHECK(!agent_client_is_connected(agent), "disconnected");
    CHECK_RC(agent_client_notify_file_change(agent, session_file), NotConnected);
    CHECK_RC(agent_client_write_approve_result(agent, "toolu_e2e_1", Approved, 1), NotConnected);
    int32_t health = -1;
    CHECK_OK(session_db_check_writer_health(reader, &health));
    CHECK(health == 2, "disconnect released the writer role: %d", health);
    agent_client_disconnect(agent); /* twice: harmless */

    writes_and_collection(db_path, session_file);

    CHECK_OK(agent_client_connect(agent)); /* reconnect */
    CHECK(agent_client_is_connected(agent), "reconnected");
    CHECK_OK(agent_client_notify_file_change(agent, session_file));
    agent_client_destroy(agent);
    health = -1;
    CHECK_OK(session_db_check_writer_health(reader, &health));
    CHECK(health == 2, "destroy released the writer role: %d", health);
    session_db_close(reader);
    return check_summary();
}

/* ------------------------------------------------------------------ serve */

static SessionDbHandle *reader;

static SessionDbHandle *reader_for(const char *db_path)
{
    static char opened[4096];
    if (reader && strcmp(opened, db_path) == 0)
        return reader;
    session_db_close(reader);
    reader = NULL;
    snprintf(opened, sizeof opened, "%s", db_path);
    return session_db_connect(db_path, &reader) == Success ? reader : NULL;
}

static void answer(FfiError rc, const char *detail)
{
    if (rc == Success)
        printf("ok%s%s\n", detail ? " " : "", detail ? detail : "");
    else
        printf("error %d %s\n", (int)rc, session_db_last_error());
    fflush(stdout);
}

static void wait_found(const char *db_path, const char *word, double timeout_ms, double started)
{
    SessionDbHandle *db = reader_for(db_path);
    char text[64];
    while (db) {
        if (hits_for(db, word) > 0) {
            snprintf(text, sizeof text, "found %.2f", now_ms() - started);
            answer(Success, text);
            return;
        }
        if (now_ms() - started > timeout_ms)
            break;
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    printf("timeout\n");
    fflush(stdout);
}

static int serve(void)
{
    AgentClientHandle *agent = NULL;
    char line[8192];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        char *command = strtok(line, " ");
        char *a = strtok(NULL, " "), *b = strtok(NULL, " "), *c = strtok(NULL, " "), *d = strtok(NULL, " ");
        if (!command)
            continue;
        if (strcmp(command, "create") == 0 && a && b)
            answer(agent_client_create(a, b, NULL, &agent), NULL);
        else if (strcmp(command, "connect") == 0)
            answer(agent_client_connect(agent), NULL);
        else if (strcmp(command, "connected") == 0)
            answer(Success, agent_client_is_connected(agent) ? "yes" : "no");
        else if (strcmp(command, "notify") == 0 && a) {
            double started = now_ms();
            FfiError rc = agent_client_notify_file_change(agent, a);
            char text[32];
            snprintf(text, sizeof text, "%.2f", now_ms() - started);
            answer(rc, text);
        } else if (strcmp(command, "approve") == 0 && a && b && c)
            answer(agent_client_write_approve_result(agent, a, (enum ApprovalStatusC)atoi(b), atoll(c)), NULL);
        else if (strcmp(command, "disconnect") == 0) {
            agent_client_disconnect(agent);
            answer(Success, NULL);
        } else if (strcmp(command, "destroy") == 0) {
            agent_client_destroy(agent);
            agent = NULL;
            answer(Success, NULL);
        } else if (strcmp(command, "wait") == 0 && a && b && c)
            wait_found(a, b, atof(c), now_ms());
        else if (strcmp(command, "notify-wait") == 0 && a && b && c && d) {
            double started = now_ms();
            FfiError rc = agent_client_notify_file_change(agent, a);
            if (rc != Success)
                answer(rc, NULL);
            else
                wait_found(b, c, atof(d), started);
        } else if (strcmp(command, "quit") == 0)
            break;
        else {
            printf("error 99 bad command\n");
            fflush(stdout);
        }
    }
    agent_client_destroy(agent);
    session_db_close(reader);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "all") == 0)
        return run_all(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 2 && strcmp(argv[1], "serve") == 0)
        return serve();
    fprintf(stderr, "usage: %s all DATA_DIR PROJECTS_ROOT SESSION_FILE SUBAGENT_FILE | serve\n", argv[0]);
    return 2;
}
