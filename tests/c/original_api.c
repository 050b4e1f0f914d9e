/*
 * A program written against the original library's header (ai_cli_session_db.h):
 * it uses only that header's names, types and conventions (struct/enum spellings,
 * unprefixed enum constants, role 0 = writer, -1 = no timestamp), and no addition
 * of ours. It must compile and run unchanged against sessiondb.h.
 *
 * usage: original_api DB_PATH
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ai_cli_session_db.h"

static int passed, failed;
#define EXPECT(cond)                                                            \
    do {                                                                        \
        if (cond)                                                               \
            passed++;                                                           \
        else {                                                                  \
            failed++;                                                           \
            fprintf(stderr, "FAIL line %d: %s\n", __LINE__, #cond);            \
        }                                                                       \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    struct SessionDbHandle *handle = NULL;
    enum SessionDbError rc = session_db_connect(argv[1], &handle);
    EXPECT(rc == Success && handle != NULL);

    int32_t role = -1;
    rc = session_db_register_writer(handle, 2 /* MemexKit */, &role);
    int coordinated = rc == Success;
    if (coordinated) {
        EXPECT(role == 0);
        EXPECT(session_db_heartbeat(handle) == Success);
        int32_t health = -1;
        EXPECT(session_db_check_writer_health(handle, &health) == Success && health == 0);
    } else {
        printf("SKIP: writer coordination not in this build (rc %d)\n", rc);
    }

    int64_t project_id = 0;
    EXPECT(session_db_upsert_project(handle, "MyProject", "/path/to/project", "claude", &project_id) == Success);
    EXPECT(project_id > 0);
    EXPECT(session_db_upsert_session(handle, "session-123", project_id) == Success);

    struct MessageInputC messages[2] = {
        {.uuid = "msg-1", .role = 0, .content = "How do I open the database?", .timestamp = 1705000000000,
         .sequence = 0},
        {.uuid = "msg-2", .role = 1, .content = "Call session_db_connect with a path.", .timestamp = 1705000001000,
         .sequence = 1},
    };
    uintptr_t inserted = 0;
    EXPECT(session_db_insert_messages(handle, "session-123", messages, 2, &inserted) == Success && inserted == 2);

    int64_t checkpoint = 0;
    EXPECT(session_db_update_session_last_message(handle, "session-123", 1705000001000) == Success);
    EXPECT(session_db_get_scan_checkpoint(handle, "session-123", &checkpoint) == Success &&
           checkpoint == 1705000001000);

    struct ProjectArray *projects = NULL;
    EXPECT(session_db_list_projects(handle, &projects) == Success && projects->len == 1);
    EXPECT(strcmp(projects->data[0].name, "MyProject") == 0);
    session_db_free_projects(projects);

    struct SessionArray *sessions = NULL;
    EXPECT(session_db_list_sessions(handle, project_id, &sessions) == Success && sessions->len == 1);
    EXPECT(sessions->data[0].message_count == 2);
    session_db_free_sessions(sessions);

    struct MessageArray *list = NULL;
    EXPECT(session_db_list_messages(handle, "session-123", 100, 0, &list) == Success && list->len == 2);
    EXPECT(list->data[1].role == 1 && strcmp(list->data[1].uuid, "msg-2") == 0);
    session_db_free_messages(list);

    struct SearchResultArray *results = NULL;
    EXPECT(session_db_search_fts(handle, "database", 10, &results) == Success && results->len == 1);
    session_db_free_search_results(results);
    results = NULL;
    EXPECT(session_db_search_fts_with_project(handle, "session_db_connect", 10, project_id, &results) == Success);
    EXPECT(results->len == 1 && results->data[0].timestamp == 1705000001000 && results->data[0].score <= 0.0);
    session_db_free_search_results(results);
    results = NULL;
    enum SearchOrderByC order = TimeDesc;
    EXPECT(session_db_search_fts_with_options(handle, "the", 10, -1, order, &results) == Success);
    session_db_free_search_results(results);
    results = NULL;
    EXPECT(session_db_search_fts_full(handle, "database", 10, -1, Score, 1705000000000, 1705000000000, &results) ==
           Success && results->len == 1);
    session_db_free_search_results(results);

    uintptr_t updated = 7;
    enum ApprovalStatusC status = Approved;
    EXPECT(session_db_update_approval_status_by_tool_call_id(handle, "toolu_1", status, 1705000002000, &updated) ==
           Success && updated == 0);

    int64_t n_projects = 0, n_sessions = 0, n_messages = 0;
    EXPECT(session_db_get_stats(handle, &n_projects, &n_sessions, &n_messages) == Success);
    EXPECT(n_projects == 1 && n_sessions == 1 && n_messages == 2);

    if (coordinated) {
        int32_t taken = -1;
        EXPECT(session_db_try_takeover(handle, &taken) == Success);
        struct CollectResultC *collected = NULL;
        rc = session_db_collect(handle, &collected);
        EXPECT(rc == Success || rc == Unknown);
        session_db_free_collect_result(collected);
        collected = NULL;
        rc = session_db_collect_by_path(handle, "/nonexistent/file.jsonl", &collected);
        EXPECT(rc != PermissionDenied && rc != NullPointer);
        session_db_free_collect_result(collected);
        EXPECT(session_db_release_writer(handle) == Success);
        int32_t again = -1;
        struct CollectResultC *result = NULL;
        rc = session_db_register_writer_and_collect(handle, 0, &again, &result);
        EXPECT(rc == Success || rc == Unknown);
        session_db_free_collect_result(result);
        session_db_release_writer(handle);
    }

    /* file-system functions: a missing root is empty, never an error or a crash */
    struct ProjectInfoArray *infos = NULL;
    rc = session_db_list_file_projects("/nonexistent/projects", 0, &infos);
    if (rc == Success) {
        EXPECT(infos->len == 0);
        session_db_free_project_list(infos);
        struct SessionMetaArray *metas = NULL;
        EXPECT(session_db_list_session_metas("/nonexistent/projects", NULL, &metas) == Success && metas->len == 0);
        session_db_free_session_meta_list(metas);
        struct SessionMetaC *latest = NULL;
        EXPECT(session_db_find_latest_session("/nonexistent/projects", "/p", 0, &latest) == Success && !latest);
        session_db_free_session_meta(latest);
        struct MessagesResultC *page = NULL;
        EXPECT(session_db_read_session_messages("/nonexistent/a.jsonl", 10, 0, true, &page) == Success);
        EXPECT(page->message_count == 0 && page->total == 0 && !page->has_more);
        session_db_free_messages_result(page);
        struct ParseResult parsed = session_db_parse_jsonl("/nonexistent/a.jsonl");
        EXPECT(parsed.session == NULL && parsed.error != Success);
        session_db_free_parse_result(parsed.session);
        char *path = session_db_compute_session_path("/root/projects", "-p", "abc");
        EXPECT(path != NULL && strcmp(path, "/root/projects/-p/abc.jsonl") == 0);
        session_db_free_string(path);
        EXPECT(session_db_get_session_path("/nonexistent/projects", "abc") == NULL);
        EXPECT(session_db_get_encoded_dir_name("/nonexistent/projects", "/p") == NULL);
    } else {
        printf("SKIP: session file functions not in this build (rc %d)\n", rc);
    }

    session_db_close(handle);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
