/*
 * ai_cli_session_db.h -- libsessiondb's C ABI as the upstream library declares it today
 * (the ABI of the ETerm plugins MemexKit and VlaudeKit: `enum FfiError`, sessions with
 * type and source, session metas with their last message, session relations and the
 * agent client). Programs written against the upstream header compile against this one
 * unchanged and run against libsessiondb, which is also installed as
 * libai_cli_session_db for module maps that link that name.
 *
 * One library, two headers: the layout rule
 * ------------------------------------------
 * `sessiondb.h` declares the original ABI; this header the upstream one. They agree on
 * every name, type and integer encoding, except that two structs grew fields upstream:
 *
 *     struct Session       gains `session_type` and `source` before `created_at` (72 bytes, not 56)
 *     struct SessionMetaC  gains `last_message_type`, `last_message_preview`, `last_message_at` (80, not 56)
 *
 * The header a client is compiled against decides the layout it gets. Here the six
 * functions that hand out or free those structs are bound, by asm labels (by macros on
 * compilers without them), to distinct exported symbols that use this header's layout:
 *
 *     session_db_list_sessions           -> session_db_v2_list_sessions
 *     session_db_free_sessions           -> session_db_v2_free_sessions
 *     session_db_list_session_metas      -> session_db_v2_list_session_metas
 *     session_db_free_session_meta_list  -> session_db_v2_free_session_meta_list
 *     session_db_find_latest_session     -> session_db_v2_find_latest_session
 *     session_db_free_session_meta       -> session_db_v2_free_session_meta
 *
 * while a client of `sessiondb.h` calls the symbols of the same names, with the
 * original layouts. Swift honours the asm labels, so a Swift module over either header
 * gets the right functions. Every other function is the same symbol under both headers.
 * The two headers cannot be included together (a compile-time error says so).
 *
 * This header is a superset of both ABIs where that costs nothing: it also declares the
 * original ABI's writer coordination functions (which upstream dropped) and the name
 * `SessionDbError`, so clients written for the original header compile against it too
 * (and get this header's layouts, by the rule above).
 *
 * Conventions (as in sessiondb.h)
 * -------------------------------
 * - Status functions return `enum FfiError`: `Success` (0) or the reason; after a
 *   failure `session_db_last_error()` holds a message for the calling thread.
 * - Strings in and out are NUL-terminated UTF-8; invalid UTF-8 gives `InvalidUtf8`.
 * - Everything returned through a pointer is owned by the caller and freed with the one
 *   free function named in its documentation; free functions accept NULL. Empty arrays
 *   have `len == 0, data == NULL`.
 * - Handles are opaque tokens: NULL, closed, stale or made-up handles are refused with
 *   `NullPointer`, never dereferenced. Nothing here aborts the host process.
 * - Timestamps are Unix epoch milliseconds; -1 stands for "none" where noted.
 *
 * The agent client
 * ----------------
 * Upstream, `agent_client_*` talk to a separate daemon that owns every write. Here no
 * daemon is needed: `agent_client_connect` makes this process a participant of writer
 * coordination (component "memexkit" as MemexKit, "vlaudekit" as VlaudeKit, priority 2;
 * any other name a named writer of priority 1), with its loop on background threads of
 * the library. `agent_client_notify_file_change` is synchronous while this client is the
 * Writer (the file's new lines are stored when it returns); while it is a Reader it
 * leaves the request in the spool directory `<db file>.requests/` and returns at once,
 * and the Writer (any sessiondb participant: another agent client, `sessiondb watch`)
 * collects it within its drain interval, 50 ms. No call waits on another process.
 */
#ifndef AI_CLI_SESSION_DB_H
#define AI_CLI_SESSION_DB_H
#ifdef CLAUDE_SESSION_DB_H
#error "ai_cli_session_db.h and sessiondb.h lay out some structs differently: include only one of them"
#endif

#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define AI_CLI_SESSION_DB_STRING_(x) #x
#define AI_CLI_SESSION_DB_STRING(x) AI_CLI_SESSION_DB_STRING_(x)
/* Bind a declaration to the exported symbol with this header's struct layout. */
#define AI_CLI_SESSION_DB_LAYOUT(symbol) __asm__(AI_CLI_SESSION_DB_STRING(__USER_LABEL_PREFIX__) #symbol)
#else
#define AI_CLI_SESSION_DB_LAYOUT(symbol)
#define session_db_list_sessions session_db_v2_list_sessions
#define session_db_free_sessions session_db_v2_free_sessions
#define session_db_list_session_metas session_db_v2_list_session_metas
#define session_db_free_session_meta_list session_db_v2_free_session_meta_list
#define session_db_find_latest_session session_db_v2_find_latest_session
#define session_db_free_session_meta session_db_v2_free_session_meta
#endif

/* ===================================================================== enums */

/** Approval state of a tool call (messages.approval_status). */
typedef enum ApprovalStatusC {
    Pending = 0,
    Approved = 1,
    Rejected = 2,
    Timeout = 3,
} ApprovalStatusC;

/** Status returned by the library's functions (sessiondb.h calls it SessionDbError). */
typedef enum FfiError {
    Success = 0,
    /** A required pointer is NULL, or the handle is not an open handle. */
    NullPointer = 1,
    /** An input string is not valid UTF-8. */
    InvalidUtf8 = 2,
    /** SQLite failed, or the request cannot be done on this data (see the last error). */
    DatabaseError = 3,
    /** Writer coordination failed. */
    CoordinationError = 4,
    /** This handle may not write: another writer owns the database, or it is read-only. */
    PermissionDenied = 5,
    /** agent_client_connect could not open the database or join writer coordination. */
    ConnectionFailed = 6,
    /** An agent_client_* call on a client that is not connected. */
    NotConnected = 7,
    /** An agent_client_* request could not be carried out (see the last error). */
    RequestFailed = 8,
    /** Upstream: the agent program is missing. Never returned here (there is no agent). */
    AgentNotFound = 9,
    /** A background thread of the library could not start. */
    RuntimeError = 10,
    /** Anything else: out-of-range enum values, the interpreter could not start, ... */
    Unknown = 99,
} FfiError;

/* The original ABI's name of the status type, for clients written against it: in C a
 * macro, so that both `SessionDbError` and `enum SessionDbError` work; in Swift (which
 * imports no such macro) a type alias. */
#if defined(__swift__)
typedef enum FfiError SessionDbError;
#else
#define SessionDbError FfiError
#endif

/** Order of search results: relevance (BM25), newest first, oldest first. */
typedef enum SearchOrderByC {
    Score = 0,
    TimeDesc = 1,
    TimeAsc = 2,
} SearchOrderByC;

/* ===================================================================== types */

/** An agent client (agent_client_create). Opaque. */
typedef struct AgentClientHandle AgentClientHandle;

/** An open database (session_db_connect). Opaque. */
typedef struct SessionDbHandle SessionDbHandle;

/** A project row. */
typedef struct Project {
    int64_t id;
    char *name;
    char *path;
    char *source;
    int64_t created_at;
    int64_t updated_at;
} Project;

/** From session_db_list_projects. Free with session_db_free_projects. */
typedef struct ProjectArray {
    struct Project *data;
    uintptr_t len;
} ProjectArray;

/** A session row. `last_message_at` is -1 when unset; `session_type` is "main" or
 *  "subagent" (NULL when unknown); `source` the CLI ("claude", "codex", "opencode",
 *  "gemini"; NULL when unknown). The upstream layout (see the layout rule above). */
typedef struct Session {
    int64_t id;
    char *session_id;
    int64_t project_id;
    int64_t message_count;
    int64_t last_message_at;
    char *session_type;
    char *source;
    int64_t created_at;
    int64_t updated_at;
} Session;

/** From session_db_list_sessions. Free with session_db_free_sessions. */
typedef struct SessionArray {
    struct Session *data;
    uintptr_t len;
} SessionArray;

/** A message to insert. `role`: 0 user, 1 assistant, 2 tool, 3 system. Strings must not be NULL. */
typedef struct MessageInputC {
    const char *uuid;
    int32_t role;
    const char *content;
    int64_t timestamp;
    int64_t sequence;
} MessageInputC;

/** A stored message. `role`: 0 user, 1 assistant, 2 tool, 3 system; `raw` may be NULL. */
typedef struct MessageC {
    int64_t id;
    char *session_id;
    char *uuid;
    int32_t role;
    char *content;
    int64_t timestamp;
    int64_t sequence;
    char *raw;
} MessageC;

/** From session_db_list_messages. Free with session_db_free_messages. */
typedef struct MessageArray {
    struct MessageC *data;
    uintptr_t len;
} MessageArray;

/** A search hit: `role` is the message type as text; `score` BM25 (lower is better, 0 in
 *  time orders); `timestamp` -1 when unknown. */
typedef struct SearchResultC {
    int64_t message_id;
    char *session_id;
    int64_t project_id;
    char *project_name;
    char *role;
    char *content;
    char *snippet;
    double score;
    int64_t timestamp;
} SearchResultC;

/** From the session_db_search_fts* functions. Free with session_db_free_search_results. */
typedef struct SearchResultArray {
    struct SearchResultC *data;
    uintptr_t len;
} SearchResultArray;

/** A message of a parsed session file. */
typedef struct IndexableMessageC {
    char *uuid;
    char *role;
    char *content;
    int64_t timestamp;
    int64_t sequence;
} IndexableMessageC;

typedef struct IndexableMessageArray {
    struct IndexableMessageC *data;
    uintptr_t len;
} IndexableMessageArray;

/** A parsed session file. Free with session_db_free_parse_result. */
typedef struct IndexableSessionC {
    char *session_id;
    char *project_path;
    char *project_name;
    struct IndexableMessageArray messages;
} IndexableSessionC;

/** Returned by value from session_db_parse_jsonl. */
typedef struct ParseResult {
    struct IndexableSessionC *session;
    enum FfiError error;
} ParseResult;

/** A project directory under the Claude projects root; `last_active` 0 when unknown. */
typedef struct ProjectInfoC {
    char *encoded_name;
    char *path;
    char *name;
    uintptr_t session_count;
    uint64_t last_active;
} ProjectInfoC;

/** From session_db_list_file_projects. Free with session_db_free_project_list. */
typedef struct ProjectInfoArray {
    struct ProjectInfoC *data;
    uintptr_t len;
} ProjectInfoArray;

/** A session file with its last user or assistant message: `last_message_type` "user"
 *  or "assistant", `last_message_preview` its plain text on one line (at most 100
 *  characters, then "..."), `last_message_at` its time (-1, and both strings NULL, when
 *  the file has none). `project_name`, `encoded_dir_name`, `session_path` may be NULL;
 *  `file_mtime`, `message_count` are -1 when unknown. The upstream layout. */
typedef struct SessionMetaC {
    char *id;
    char *project_path;
    char *project_name;
    char *encoded_dir_name;
    char *session_path;
    int64_t file_mtime;
    int64_t message_count;
    char *last_message_type;
    char *last_message_preview;
    int64_t last_message_at;
} SessionMetaC;

/** From session_db_list_session_metas. Free with session_db_free_session_meta_list. */
typedef struct SessionMetaArray {
    struct SessionMetaC *data;
    uintptr_t len;
} SessionMetaArray;

/** A message read from a session file: `message_type` 0 user, 1 assistant, 2 tool,
 *  3 system; `timestamp` epoch ms as decimal text, or NULL. */
typedef struct ParsedMessageC {
    char *uuid;
    char *session_id;
    int32_t message_type;
    char *content;
    char *timestamp;
} ParsedMessageC;

/** A page from session_db_read_session_messages. Free with session_db_free_messages_result. */
typedef struct MessagesResultC {
    struct ParsedMessageC *messages;
    uintptr_t message_count;
    uintptr_t total;
    bool has_more;
} MessagesResultC;

/** Outcome of a collection. Free with session_db_free_collect_result. */
typedef struct CollectResultC {
    uintptr_t projects_scanned;
    uintptr_t sessions_scanned;
    uintptr_t messages_inserted;
    uintptr_t error_count;
    /** The first error message, or NULL. */
    char *first_error;
} CollectResultC;

/** A parent/child link (a subagent transcript or child session and its parent):
 *  `relation_type` the child's session type ("subagent"), `source` the CLI,
 *  `created_at` when the child was first stored. */
typedef struct SessionRelationC {
    char *parent_session_id;
    char *child_session_id;
    char *relation_type;
    char *source;
    int64_t created_at;
} SessionRelationC;

/** From session_db_get_children_sessions. Free with session_db_free_session_relations. */
typedef struct SessionRelationArray {
    struct SessionRelationC *data;
    uintptr_t len;
} SessionRelationArray;

/* ================================================================ connection */

/** Open (creating or upgrading) the database at `path` (NULL: $CLAUDE_SESSION_DB_URL,
 *  else ~/.vimo/db/ai-cli-session.db). Close `*out_handle` with session_db_close.
 *  Errors: NullPointer, InvalidUtf8, DatabaseError. */
enum FfiError session_db_connect(const char *path, struct SessionDbHandle **out_handle);

/** Close a handle (gives up a writer role it holds). NULL or unknown handles are a no-op. */
void session_db_close(struct SessionDbHandle *handle);

/* ====================================================================== data */

/** Counts of projects, sessions and messages; each out pointer may be NULL.
 *  Errors: NullPointer, DatabaseError. */
enum FfiError session_db_get_stats(const struct SessionDbHandle *handle,
                                   int64_t *out_projects,
                                   int64_t *out_sessions,
                                   int64_t *out_messages);

/** Id of the project at `path`, created with `name` and `source` if needed.
 *  Errors: NullPointer, InvalidUtf8, PermissionDenied, DatabaseError. */
enum FfiError session_db_upsert_project(struct SessionDbHandle *handle,
                                        const char *name,
                                        const char *path,
                                        const char *source,
                                        int64_t *out_id);

/** Every project, most recently updated first. Free with session_db_free_projects.
 *  Errors: NullPointer, DatabaseError. */
enum FfiError session_db_list_projects(const struct SessionDbHandle *handle,
                                       struct ProjectArray **out_array);

/** Free a ProjectArray. NULL is a no-op. */
void session_db_free_projects(struct ProjectArray *array);

/** Create the session, or bump its updated_at.
 *  Errors: NullPointer, InvalidUtf8, PermissionDenied, DatabaseError. */
enum FfiError session_db_upsert_session(struct SessionDbHandle *handle,
                                        const char *session_id,
                                        int64_t project_id);

/** Sessions of a project with type and source, most recently updated first.
 *  Free with session_db_free_sessions. Errors: NullPointer, DatabaseError. */
enum FfiError session_db_list_sessions(const struct SessionDbHandle *handle,
                                       int64_t project_id,
                                       struct SessionArray **out_array)
    AI_CLI_SESSION_DB_LAYOUT(session_db_v2_list_sessions);

/** Free a SessionArray from session_db_list_sessions. NULL is a no-op. */
void session_db_free_sessions(struct SessionArray *array)
    AI_CLI_SESSION_DB_LAYOUT(session_db_v2_free_sessions);

/** The session's scan checkpoint (last_message_at), -1 when unset or unknown.
 *  Errors: NullPointer, InvalidUtf8, DatabaseError. */
enum FfiError session_db_get_scan_checkpoint(const struct SessionDbHandle *handle,
                                             const char *session_id,
                                             int64_t *out_timestamp);

/** Set the session's scan checkpoint. Errors: NullPointer, InvalidUtf8, PermissionDenied,
 *  DatabaseError. */
enum FfiError session_db_update_session_last_message(struct SessionDbHandle *handle,
                                                     const char *session_id,
                                                     int64_t timestamp);

/** Insert `message_count` messages (deduplicated by uuid; all or none); `out_inserted`
 *  (optional) gets how many were new. Errors: NullPointer, InvalidUtf8, Unknown (role out
 *  of range), PermissionDenied, DatabaseError (for example an unknown session). */
enum FfiError session_db_insert_messages(struct SessionDbHandle *handle,
                                         const char *session_id,
                                         const struct MessageInputC *messages,
                                         uintptr_t message_count,
                                         uintptr_t *out_inserted);

/** A page of a session's messages in sequence order. Free with session_db_free_messages.
 *  Errors: NullPointer, InvalidUtf8, DatabaseError. */
enum FfiError session_db_list_messages(const struct SessionDbHandle *handle,
                                       const char *session_id,
                                       uintptr_t limit,
                                       uintptr_t offset,
                                       struct MessageArray **out_array);

/** Free a MessageArray. NULL is a no-op. */
void session_db_free_messages(struct MessageArray *array);

/* ==================================================================== search */

/** Full-text search: words ANDed, "phrase", prefix*, OR, -exclude; CJK substrings.
 *  Free with session_db_free_search_results. Errors: NullPointer, InvalidUtf8, DatabaseError. */
enum FfiError session_db_search_fts(const struct SessionDbHandle *handle,
                                    const char *query,
                                    uintptr_t limit,
                                    struct SearchResultArray **out_array);

/** session_db_search_fts within one project. */
enum FfiError session_db_search_fts_with_project(const struct SessionDbHandle *handle,
                                                 const char *query,
                                                 uintptr_t limit,
                                                 int64_t project_id,
                                                 struct SearchResultArray **out_array);

/** Free a SearchResultArray. NULL is a no-op. */
void session_db_free_search_results(struct SearchResultArray *array);

/** Search with project (-1: all), order and inclusive time bounds (-1: none).
 *  Errors: NullPointer, InvalidUtf8, Unknown (order_by out of range), DatabaseError. */
enum FfiError session_db_search_fts_full(const struct SessionDbHandle *handle,
                                         const char *query,
                                         uintptr_t limit,
                                         int64_t project_id,
                                         enum SearchOrderByC order_by,
                                         int64_t start_timestamp,
                                         int64_t end_timestamp,
                                         struct SearchResultArray **out_array);

/** Search with project (-1: all) and order. */
enum FfiError session_db_search_fts_with_options(const struct SessionDbHandle *handle,
                                                 const char *query,
                                                 uintptr_t limit,
                                                 int64_t project_id,
                                                 enum SearchOrderByC order_by,
                                                 struct SearchResultArray **out_array);

/** Free a string returned by the path functions. NULL is a no-op. */
void session_db_free_string(char *s);

/* ================================================ session files (no database) */

/** Parse one Claude Code session file. `.session` NULL with Success: no project or no
 *  messages. Free a non-NULL `.session` with session_db_free_parse_result. */
struct ParseResult session_db_parse_jsonl(const char *jsonl_path);

/** Free the session of a ParseResult. NULL is a no-op. */
void session_db_free_parse_result(struct IndexableSessionC *session);

/** The file of session `session_id` under `projects_path` (NULL: the Claude projects
 *  root), or NULL. Free with session_db_free_string. */
char *session_db_get_session_path(const char *projects_path, const char *session_id);

/** The encoded directory name of the project at `project_path`, or NULL.
 *  Free with session_db_free_string. */
char *session_db_get_encoded_dir_name(const char *projects_path, const char *project_path);

/** `{projects_path}/{encoded_dir_name}/{session_id}.jsonl` without touching the disk; NULL
 *  for names that would leave the root. Free with session_db_free_string. */
char *session_db_compute_session_path(const char *projects_path,
                                      const char *encoded_dir_name,
                                      const char *session_id);

/** Project directories, most recently active first, at most `limit` (0: all).
 *  Free with session_db_free_project_list. Errors: NullPointer, InvalidUtf8, DatabaseError. */
enum FfiError session_db_list_file_projects(const char *projects_path,
                                            uint32_t limit,
                                            struct ProjectInfoArray **out_array);

/** Free a ProjectInfoArray. NULL is a no-op. */
void session_db_free_project_list(struct ProjectInfoArray *array);

/** Session files with their last message, newest first, of the project at `project_path`
 *  (NULL: all); subagent sessions excluded. Free with session_db_free_session_meta_list.
 *  Errors: NullPointer, InvalidUtf8, DatabaseError. */
enum FfiError session_db_list_session_metas(const char *projects_path,
                                            const char *project_path,
                                            struct SessionMetaArray **out_array)
    AI_CLI_SESSION_DB_LAYOUT(session_db_v2_list_session_metas);

/** Free a SessionMetaArray from session_db_list_session_metas. NULL is a no-op. */
void session_db_free_session_meta_list(struct SessionMetaArray *array)
    AI_CLI_SESSION_DB_LAYOUT(session_db_v2_free_session_meta_list);

/** The newest session file of a project, with its last message; `*out_session` NULL when
 *  none (or older than `within_seconds` > 0). Free with session_db_free_session_meta.
 *  Errors: NullPointer, InvalidUtf8, DatabaseError. */
enum FfiError session_db_find_latest_session(const char *projects_path,
                                             const char *project_path,
                                             uint64_t within_seconds,
                                             struct SessionMetaC **out_session)
    AI_CLI_SESSION_DB_LAYOUT(session_db_v2_find_latest_session);

/** Free one SessionMetaC from session_db_find_latest_session. NULL is a no-op. */
void session_db_free_session_meta(struct SessionMetaC *session)
    AI_CLI_SESSION_DB_LAYOUT(session_db_v2_free_session_meta);

/** A page of a session file's messages (`limit` 0: all; oldest first when `order_asc`).
 *  Free with session_db_free_messages_result. Errors: NullPointer, InvalidUtf8, DatabaseError. */
enum FfiError session_db_read_session_messages(const char *session_path,
                                               uintptr_t limit,
                                               uintptr_t offset,
                                               bool order_asc,
                                               struct MessagesResultC **out_result);

/** Free a MessagesResultC. NULL is a no-op. */
void session_db_free_messages_result(struct MessagesResultC *result);

/* ================================================================ collection */

/** Collect every source into the database (only the registered writer may).
 *  Free with session_db_free_collect_result. Errors: NullPointer, PermissionDenied, DatabaseError. */
enum FfiError session_db_collect(struct SessionDbHandle *handle,
                                 struct CollectResultC **out_result);

/** Collect one session file (only the registered writer may). */
enum FfiError session_db_collect_by_path(struct SessionDbHandle *handle,
                                         const char *path,
                                         struct CollectResultC **out_result);

/** Free a CollectResultC. NULL is a no-op. */
void session_db_free_collect_result(struct CollectResultC *result);

/* ========================================================= session relations */

/** Sessions started by `parent_session_id`, oldest first (empty when none).
 *  Free with session_db_free_session_relations. Errors: NullPointer, InvalidUtf8, DatabaseError. */
enum FfiError session_db_get_children_sessions(const struct SessionDbHandle *handle,
                                               const char *parent_session_id,
                                               struct SessionRelationArray **out_array);

/** The session that started `child_session_id`; `*out_relation` NULL when none.
 *  Free with session_db_free_session_relation. Errors: NullPointer, InvalidUtf8, DatabaseError. */
enum FfiError session_db_get_parent_session(const struct SessionDbHandle *handle,
                                            const char *child_session_id,
                                            struct SessionRelationC **out_relation);

/** Free a SessionRelationArray. NULL is a no-op. */
void session_db_free_session_relations(struct SessionRelationArray *array);

/** Free one SessionRelationC. NULL is a no-op. */
void session_db_free_session_relation(struct SessionRelationC *relation);

/* ============================================================== agent client */

/** A new, unconnected client for `component` ("memexkit", "vlaudekit", or a name).
 *  `data_dir` (NULL: the default database) holds the database at
 *  `<data_dir>/db/ai-cli-session.db`; `agent_source_dir` is accepted and ignored.
 *  Release `*out_handle` with agent_client_destroy.
 *  Errors: NullPointer, InvalidUtf8, RequestFailed (empty name or directory). */
enum FfiError agent_client_create(const char *component,
                                  const char *data_dir,
                                  const char *agent_source_dir,
                                  struct AgentClientHandle **out_handle);

/** Disconnect and release the handle. NULL or unknown handles are a no-op. */
void agent_client_destroy(struct AgentClientHandle *handle);

/** Open the database and join writer coordination on a background thread; returns in
 *  milliseconds. A no-op when connected. Errors: NullPointer, ConnectionFailed, RuntimeError. */
enum FfiError agent_client_connect(struct AgentClientHandle *handle);

/** Get the session file at `path` collected: stored on return while this client is the
 *  Writer; handed to the Writer (collected within 50 ms) while it is a Reader.
 *  Errors: NullPointer, InvalidUtf8, NotConnected, RequestFailed. */
enum FfiError agent_client_notify_file_change(struct AgentClientHandle *handle, const char *path);

/** Record the approval of tool call `tool_call_id` (`status` 0..3, `resolved_at` ms), the
 *  same way; an approval of a tool call not stored yet is applied once it is (up to
 *  10 minutes). Errors: NullPointer, InvalidUtf8, NotConnected, Unknown (status out of
 *  range), RequestFailed. */
enum FfiError agent_client_write_approve_result(struct AgentClientHandle *handle,
                                                const char *tool_call_id,
                                                enum ApprovalStatusC status,
                                                int64_t resolved_at);

/** Whether the client is connected; false for NULL or unknown handles. */
bool agent_client_is_connected(const struct AgentClientHandle *handle);

/** Leave writer coordination (a Writer releases the role at once) and close the
 *  database; later calls give NotConnected. NULL or unknown handles are a no-op. */
void agent_client_disconnect(struct AgentClientHandle *handle);

/** The library's version. Static; do not free. */
const char *agent_client_version(void);

/* ================================== writer coordination of the original ABI */

/* Upstream dropped these with its daemon; clients written for the original ABI (ETerm
 * before 2026-01-25) call them, so they stay. Writer types: 0 MemexDaemon, 1
 * VlaudeDaemon (priority 1), 2 MemexKit, 3 VlaudeKit (priority 2); roles: 0 writer,
 * 1 reader; health: 0 alive, 1 timed out, 2 released. sessiondb.h documents each. */

/** Register as a writer of `writer_type`; `*out_role` 0 writer, 1 reader.
 *  Errors: NullPointer, Unknown (bad writer_type), CoordinationError. */
enum FfiError session_db_register_writer(struct SessionDbHandle *handle,
                                         int32_t writer_type,
                                         int32_t *out_role);

/** Writer heartbeat. Errors: NullPointer, PermissionDenied (no longer the writer), CoordinationError. */
enum FfiError session_db_heartbeat(struct SessionDbHandle *handle);

/** Give up the writer role at once. Errors: NullPointer, CoordinationError. */
enum FfiError session_db_release_writer(struct SessionDbHandle *handle);

/** Health of the current writer: 0 alive, 1 timed out, 2 released.
 *  Errors: NullPointer, CoordinationError. */
enum FfiError session_db_check_writer_health(const struct SessionDbHandle *handle, int32_t *out_health);

/** Take over when the writer is gone; `*out_taken` 1 if this handle is now the writer.
 *  Errors: NullPointer, CoordinationError. */
enum FfiError session_db_try_takeover(struct SessionDbHandle *handle, int32_t *out_taken);

/** Register, and collect every source when this handle becomes the writer; `*out_result`
 *  (optional) a CollectResultC or NULL (free with session_db_free_collect_result).
 *  Errors: NullPointer, Unknown (bad writer_type), CoordinationError. */
enum FfiError session_db_register_writer_and_collect(struct SessionDbHandle *handle,
                                                     int32_t writer_type,
                                                     int32_t *out_role,
                                                     struct CollectResultC **out_result);

/** Set the approval state of every message of `tool_call_id`; `out_updated` (optional)
 *  how many. Errors: NullPointer, InvalidUtf8, Unknown (status out of range),
 *  PermissionDenied, DatabaseError. */
enum FfiError session_db_update_approval_status_by_tool_call_id(struct SessionDbHandle *handle,
                                                                const char *tool_call_id,
                                                                enum ApprovalStatusC status,
                                                                int64_t resolved_at,
                                                                uintptr_t *out_updated);

/* ========================================================= sessiondb additions */

/** Message of the calling thread's most recent call ("" after a success). Owned by the
 *  library, valid until the thread's next call. Never NULL. */
const char *session_db_last_error(void);

/** Code of the calling thread's most recent call. */
enum FfiError session_db_last_error_code(void);

/** The library's version ("0.1.0"). Static; do not free. */
const char *session_db_version(void);

#ifdef __cplusplus
}
#endif

#endif /* AI_CLI_SESSION_DB_H */
