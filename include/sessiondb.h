/*
 * sessiondb.h -- the C ABI of libsessiondb (ai-cli-session-db).
 *
 * One shared SQLite database of AI coding-CLI sessions (Claude Code, Codex, OpenCode,
 * Gemini CLI) with full-text search and single-writer coordination. This header is a
 * drop-in replacement for the original crate's `ai_cli_session_db.h`: every function,
 * struct, enum and enum constant of that header is declared here with the same name,
 * types, layout and integer encodings. Additions use the `session_db_` / `SessionDb` /
 * `SESSION_DB_` prefixes.
 *
 * Conventions
 * -----------
 * - Status: most functions return `enum SessionDbError`. `Success` (0) means the call
 *   did what it says; any other value means it failed and wrote nothing to its
 *   out-parameters. After a failure, `session_db_last_error()` gives a message.
 * - Strings passed in are NUL-terminated UTF-8. Invalid UTF-8 gives `InvalidUtf8`.
 *   Strings returned are NUL-terminated UTF-8; a NUL character inside stored text
 *   reads as U+FFFD.
 * - Ownership: everything a function returns through a pointer is allocated by the
 *   library and owned by the caller, who frees it with the one `session_db_free_*`
 *   function named in that function's documentation. Free functions accept NULL.
 *   Never free a string that sits inside a returned struct on its own: the struct's
 *   free function frees it. Pointers passed in stay owned by the caller; the library
 *   keeps no pointer to them after the call returns.
 * - Empty arrays have `len == 0` and `data == NULL`.
 * - Handles: `SessionDbHandle *` from `session_db_connect` is an opaque token, not a
 *   memory address. A NULL, closed, stale or made-up handle is refused with
 *   `NullPointer`; closing twice is harmless. One handle may be used from several
 *   threads at once: calls on it are serialised.
 * - Timestamps are Unix epoch milliseconds. -1 stands for "none" where noted.
 * - Nothing here aborts the host process: NULL anywhere, invalid UTF-8 and
 *   out-of-range enum values return an error code.
 * - The library runs an embedded CPython interpreter, started on the first call
 *   (or by `session_db_initialize()`), from the environment the package was
 *   installed in. It leaves the host's signal dispositions as they were and is safe
 *   across fork() (the child may keep using the library).
 */
#ifndef CLAUDE_SESSION_DB_H
#define CLAUDE_SESSION_DB_H
#ifdef AI_CLI_SESSION_DB_H
#error "sessiondb.h and ai_cli_session_db.h lay out some structs differently: include only one of them"
#endif

#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The block between the two markers is plain C99 without preprocessor lines: the
 * build reads it to generate the library's entry points. */
/* @@SESSIONDB_API_BEGIN@@ */

/* ===================================================================== enums */

/** Approval state of a tool call (messages.approval_status). */
typedef enum ApprovalStatusC {
    Pending = 0,
    Approved = 1,
    Rejected = 2,
    Timeout = 3
} ApprovalStatusC;

/** Order of search results: relevance (BM25), newest first, oldest first. */
typedef enum SearchOrderByC {
    Score = 0,
    TimeDesc = 1,
    TimeAsc = 2
} SearchOrderByC;

/** Status returned by the library's functions. */
typedef enum SessionDbError {
    Success = 0,
    /** A required pointer is NULL, or the handle is not an open handle. */
    NullPointer = 1,
    /** An input string is not valid UTF-8. */
    InvalidUtf8 = 2,
    /** SQLite failed, or the request cannot be done on this data (see last error). */
    DatabaseError = 3,
    /** Writer coordination failed (not registered, preempted, registry unreadable). */
    CoordinationError = 4,
    /** This handle may not write: another writer owns the database, or it is read-only. */
    PermissionDenied = 5,
    /** agent_client_connect could not open the database or join writer coordination. */
    ConnectionFailed = 6,
    /** An agent_client_* call on a client that is not connected (never, or after disconnect). */
    NotConnected = 7,
    /** An agent_client_* request could not be carried out (see last error). */
    RequestFailed = 8,
    /** Upstream: the agent program is missing. Never returned here (no separate agent). */
    AgentNotFound = 9,
    /** Upstream: the agent's runtime failed. Returned when a background thread cannot start. */
    RuntimeError = 10,
    /** Anything else: out-of-range enum values, the interpreter could not start, ... */
    Unknown = 99
} SessionDbError;

/** The upstream ABI's name of the status type (ai_cli_session_db.h: `enum FfiError`). */
typedef enum SessionDbError FfiError;

/** Writer types, the `writer_type` argument of the coordination functions (addition). */
typedef enum SessionDbWriterType {
    SESSION_DB_WRITER_MEMEX_DAEMON = 0,  /* priority 1 */
    SESSION_DB_WRITER_VLAUDE_DAEMON = 1, /* priority 1 */
    SESSION_DB_WRITER_MEMEX_KIT = 2,     /* priority 2 */
    SESSION_DB_WRITER_VLAUDE_KIT = 3     /* priority 2 */
} SessionDbWriterType;

/** Roles written to `out_role` (addition; the values are the original's 0 and 1). */
typedef enum SessionDbRole {
    SESSION_DB_ROLE_UNREGISTERED = -1,
    SESSION_DB_ROLE_WRITER = 0,
    SESSION_DB_ROLE_READER = 1
} SessionDbRole;

/** Writer health written to `out_health` (addition; the original's 0, 1, 2). */
typedef enum SessionDbWriterHealth {
    SESSION_DB_HEALTH_ALIVE = 0,
    SESSION_DB_HEALTH_TIMEOUT = 1,
    SESSION_DB_HEALTH_RELEASED = 2
} SessionDbWriterHealth;

/** Message roles: MessageInputC.role, MessageC.role, ParsedMessageC.message_type (addition). */
typedef enum SessionDbMessageRole {
    SESSION_DB_MESSAGE_USER = 0,
    SESSION_DB_MESSAGE_ASSISTANT = 1,
    SESSION_DB_MESSAGE_TOOL = 2,
    SESSION_DB_MESSAGE_SYSTEM = 3
} SessionDbMessageRole;

/** WAL checkpoint modes of session_db_checkpoint (addition). */
typedef enum SessionDbCheckpointMode {
    SESSION_DB_CHECKPOINT_PASSIVE = 0,
    SESSION_DB_CHECKPOINT_FULL = 1,
    SESSION_DB_CHECKPOINT_RESTART = 2,
    SESSION_DB_CHECKPOINT_TRUNCATE = 3
} SessionDbCheckpointMode;

/* ===================================================================== types */

/** An open database. Opaque: obtained from session_db_connect, released by session_db_close. */
typedef struct SessionDbHandle SessionDbHandle;

/** Outcome of a collection run. Free with session_db_free_collect_result. */
typedef struct CollectResultC {
    uintptr_t projects_scanned;
    uintptr_t sessions_scanned;
    uintptr_t messages_inserted;
    /** How many errors the run met (files that could not be read, bad lines, ...). */
    uintptr_t error_count;
    /** The first error message, or NULL when there was none. */
    char *first_error;
} CollectResultC;

/** A project row. */
typedef struct Project {
    int64_t id;
    char *name;
    char *path;
    char *source;
    int64_t created_at;
    int64_t updated_at;
} Project;

/** Projects from session_db_list_projects. Free with session_db_free_projects. */
typedef struct ProjectArray {
    struct Project *data;
    uintptr_t len;
} ProjectArray;

/** A session row. `last_message_at` is -1 when unset. */
typedef struct Session {
    int64_t id;
    char *session_id;
    int64_t project_id;
    int64_t message_count;
    int64_t last_message_at;
    int64_t created_at;
    int64_t updated_at;
} Session;

/** Sessions from session_db_list_sessions. Free with session_db_free_sessions. */
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

/** Messages from session_db_list_messages. Free with session_db_free_messages. */
typedef struct MessageArray {
    struct MessageC *data;
    uintptr_t len;
} MessageArray;

/** A search hit. `role` is the message type as text ("user", "assistant", ...);
 *  `score` is BM25 (lower is better; 0 in time orders); `timestamp` is -1 when unknown. */
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

/** Hits from the session_db_search* functions. Free with session_db_free_search_results. */
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
    enum SessionDbError error;
} ParseResult;

/** A project directory under the Claude projects root. `last_active` is 0 when unknown. */
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

/** A session file. `project_name`, `encoded_dir_name`, `session_path` may be NULL;
 *  `file_mtime` and `message_count` are -1 when unknown. */
typedef struct SessionMetaC {
    char *id;
    char *project_path;
    char *project_name;
    char *encoded_dir_name;
    char *session_path;
    int64_t file_mtime;
    int64_t message_count;
} SessionMetaC;

/** From session_db_list_session_metas. Free with session_db_free_session_meta_list. */
typedef struct SessionMetaArray {
    struct SessionMetaC *data;
    uintptr_t len;
} SessionMetaArray;

/** A message read from a session file. `message_type`: 0 user, 1 assistant, 2 tool,
 *  3 system; `timestamp` is epoch milliseconds as decimal text, or NULL. */
typedef struct ParsedMessageC {
    char *uuid;
    char *session_id;
    int32_t message_type;
    char *content;
    char *timestamp;
} ParsedMessageC;

/** A page of messages from session_db_read_session_messages. Free with
 *  session_db_free_messages_result. */
typedef struct MessagesResultC {
    struct ParsedMessageC *messages;
    uintptr_t message_count;
    uintptr_t total;
    bool has_more;
} MessagesResultC;

/** Every search option (addition). Fill with session_db_search_options_init, then set
 *  what you need. Strings are borrowed for the duration of the call. */
typedef struct SessionDbSearchOptions {
    /** The query: words are ANDed; "phrase", prefix*, OR, -exclude. Required. */
    const char *query;
    uintptr_t limit;
    uintptr_t offset;
    /** Project id, or -1 for every project. */
    int64_t project_id;
    /** Source ("claude", "codex", "opencode", "gemini") or NULL for any. */
    const char *source;
    /** Message role 0..3, or -1 for any. */
    int32_t role;
    enum SearchOrderByC order_by;
    /** Inclusive time bounds in epoch ms, or -1 for none. */
    int64_t start_timestamp;
    int64_t end_timestamp;
    /** Only sessions whose id starts with this, or NULL. */
    const char *session_prefix;
    /** Highlight markers around matches in snippets; NULL for "<mark>" and "</mark>". */
    const char *highlight_open;
    const char *highlight_close;
    /** Snippet length in characters; 0 for the default (200). */
    uint32_t snippet_chars;
} SessionDbSearchOptions;

/** A parent/child link between two sessions (a subagent transcript or a child session
 *  and the session that started it), from `sessions.meta.parent_session_id`.
 *  `relation_type` is the child's session type ("subagent", ...); `source` the CLI
 *  ("claude", "opencode", "gemini", ...); `created_at` when the child was first stored (ms). */
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

/** What session_db_usage sums by (addition). Days, weeks (from Monday) and months are
 *  local dates. */
typedef enum SessionDbUsageGroup {
    SESSION_DB_USAGE_BY_DAY = 0,
    SESSION_DB_USAGE_BY_SESSION = 1,
    SESSION_DB_USAGE_BY_WEEK = 2,
    SESSION_DB_USAGE_BY_MONTH = 3,
    SESSION_DB_USAGE_BY_PROJECT = 4,
    SESSION_DB_USAGE_BY_MODEL = 5,
    SESSION_DB_USAGE_BY_SOURCE = 6
} SessionDbUsageGroup;

/** Tokens and cost of one group of model calls, from session_db_usage (addition).
 *  `key`: the date ("2026-01-31"; a week is its Monday), month ("2026-01"), session id,
 *  project path, model name ("" when none was recorded) or source. Counts are apart and
 *  add up to `total_tokens`: input without cached input, output without reasoning.
 *  `cost`: USD from the price table per model, or -1 when no call could be priced; calls
 *  of models without a price are left out of it and counted in `unpriced_tokens`, their
 *  names in `unpriced_models`. `models`, `unpriced_models`: names joined by ",", "" when
 *  none (never NULL). `first_at`/`last_at`: times of the first and last call (ms). */
typedef struct SessionDbUsageC {
    char *key;
    int64_t requests;
    int64_t sessions;
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cache_read_tokens;
    int64_t cache_write_tokens;
    int64_t reasoning_tokens;
    int64_t total_tokens;
    double cost;
    int64_t unpriced_tokens;
    char *models;
    char *unpriced_models;
    int64_t first_at;
    int64_t last_at;
} SessionDbUsageC;

/** From session_db_usage. Free with session_db_free_usage. */
typedef struct SessionDbUsageArray {
    struct SessionDbUsageC *data;
    uintptr_t len;
} SessionDbUsageArray;

/** An in-process participant of writer coordination that collects the session files it
 *  is told about (the agent_client_* functions). Opaque, like SessionDbHandle. */
typedef struct AgentClientHandle AgentClientHandle;

/*
 * Layouts of the upstream ABI (ai_cli_session_db.h). Where that header lays out a
 * struct differently from this one, the library exports the upstream layout under its
 * own names: `struct SessionDbSessionV2` is ai_cli_session_db.h's `struct Session`,
 * `struct SessionDbSessionMetaV2` its `struct SessionMetaC`, and the session_db_v2_*
 * functions are the ones ai_cli_session_db.h binds its `session_db_list_sessions`,
 * `session_db_free_sessions`, `session_db_list_session_metas`,
 * `session_db_free_session_meta_list`, `session_db_find_latest_session` and
 * `session_db_free_session_meta` to. The header a client is compiled against decides
 * which layout it gets; both kinds of client share one library.
 */

/** A session row with its type and source. `session_type` is "main", "subagent", ...
 *  (NULL when unknown); `source` the CLI ("claude", "codex", ...; NULL when unknown). */
typedef struct SessionDbSessionV2 {
    int64_t id;
    char *session_id;
    int64_t project_id;
    int64_t message_count;
    int64_t last_message_at;
    char *session_type;
    char *source;
    int64_t created_at;
    int64_t updated_at;
} SessionDbSessionV2;

/** From session_db_v2_list_sessions. Free with session_db_v2_free_sessions. */
typedef struct SessionDbSessionV2Array {
    struct SessionDbSessionV2 *data;
    uintptr_t len;
} SessionDbSessionV2Array;

/** SessionMetaC with the session's last user or assistant message: its type ("user" or
 *  "assistant"), a plain-text preview of at most 100 characters (then "..."), and its
 *  time (ms; -1 when there is none, and then type and preview are NULL). */
typedef struct SessionDbSessionMetaV2 {
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
} SessionDbSessionMetaV2;

/** From session_db_v2_list_session_metas. Free with session_db_v2_free_session_meta_list. */
typedef struct SessionDbSessionMetaV2Array {
    struct SessionDbSessionMetaV2 *data;
    uintptr_t len;
} SessionDbSessionMetaV2Array;

/* ================================================================ connection */

/**
 * Open (creating or upgrading) the database at `path`.
 * `path` NULL: $CLAUDE_SESSION_DB_URL, else ~/.vimo/db/ai-cli-session.db. `~` is expanded
 * and missing parent directories are created.
 * Ownership: on Success `*out_handle` is a new handle owned by the caller; close it with
 * session_db_close. Errors: NullPointer (out_handle NULL), InvalidUtf8, DatabaseError.
 */
enum SessionDbError session_db_connect(const char *path, struct SessionDbHandle **out_handle);

/**
 * Close a handle: gives up the writer role if this handle holds it, stops its
 * coordinator, closes the connection. NULL, an already closed or an unknown handle is
 * a no-op. Ownership: the handle is invalid afterwards.
 */
void session_db_close(struct SessionDbHandle *handle);

/* ============================================================== coordination */

/**
 * Register as a writer of type `writer_type` (SessionDbWriterType, 0..3). A higher
 * priority preempts the current writer; equal priority is first come, first served.
 * `*out_role` becomes 0 (writer) or 1 (reader).
 * Ownership: nothing to free. Errors: NullPointer, Unknown (bad writer_type),
 * CoordinationError.
 */
enum SessionDbError session_db_register_writer(struct SessionDbHandle *handle,
                                               int32_t writer_type,
                                               int32_t *out_role);

/**
 * Writer heartbeat; call it every few seconds while writer (or let
 * session_db_coordinator_start do it). Fails with PermissionDenied when this handle no
 * longer owns the writer row (preempted or taken over); the handle is a reader then.
 * Ownership: nothing to free. Errors: NullPointer, PermissionDenied, CoordinationError.
 */
enum SessionDbError session_db_heartbeat(struct SessionDbHandle *handle);

/**
 * Give up the writer role at once so a reader can take over. Success when this handle
 * is not the writer. Ownership: nothing to free. Errors: NullPointer, CoordinationError.
 */
enum SessionDbError session_db_release_writer(struct SessionDbHandle *handle);

/**
 * Health of the current writer: `*out_health` = 0 alive, 1 timed out (confirmed dead),
 * 2 released (no writer). Ownership: nothing to free.
 * Errors: NullPointer, CoordinationError.
 */
enum SessionDbError session_db_check_writer_health(const struct SessionDbHandle *handle,
                                                   int32_t *out_health);

/**
 * Take over the writer role if the writer is gone (released, dead, or timed out).
 * `*out_taken` = 1 if this handle is now the writer, else 0. Racing readers cannot
 * both win. Ownership: nothing to free. Errors: NullPointer, CoordinationError.
 */
enum SessionDbError session_db_try_takeover(struct SessionDbHandle *handle, int32_t *out_taken);

/**
 * Register as writer of `writer_type`; when this handle becomes the writer, collect
 * every source into the database. `*out_role` = 0 writer, 1 reader.
 * Ownership: when `out_result` is not NULL, `*out_result` is a new CollectResultC
 * (free with session_db_free_collect_result) if a collection ran, else NULL.
 * `first_error` holds the first error only; `error_count` says how many there were.
 * Errors: NullPointer, Unknown (bad writer_type), CoordinationError.
 */
enum SessionDbError session_db_register_writer_and_collect(struct SessionDbHandle *handle,
                                                           int32_t writer_type,
                                                           int32_t *out_role,
                                                           struct CollectResultC **out_result);

/* ======================================================================= data */

/**
 * Counts of projects, sessions and messages from one consistent snapshot. Each out
 * pointer may be NULL. Ownership: nothing to free. Errors: NullPointer, DatabaseError.
 */
enum SessionDbError session_db_get_stats(const struct SessionDbHandle *handle,
                                         int64_t *out_projects,
                                         int64_t *out_sessions,
                                         int64_t *out_messages);

/**
 * Id of the project at `path`, creating it with `name` and `source` if needed (atomic
 * across processes; an existing project keeps its name and source).
 * Ownership: nothing to free. Errors: NullPointer, InvalidUtf8, PermissionDenied,
 * DatabaseError.
 */
enum SessionDbError session_db_upsert_project(struct SessionDbHandle *handle,
                                              const char *name,
                                              const char *path,
                                              const char *source,
                                              int64_t *out_id);

/**
 * Every project, most recently updated first.
 * Ownership: `*out_array` is new; free it with session_db_free_projects.
 * Errors: NullPointer, DatabaseError.
 */
enum SessionDbError session_db_list_projects(const struct SessionDbHandle *handle,
                                             struct ProjectArray **out_array);

/** Free a ProjectArray from session_db_list_projects, its elements and their strings. NULL is a no-op. */
void session_db_free_projects(struct ProjectArray *array);

/**
 * Create the session, or bump its updated_at (an existing session keeps its project).
 * Ownership: nothing to free. Errors: NullPointer, InvalidUtf8, PermissionDenied,
 * DatabaseError (for example an unknown project).
 */
enum SessionDbError session_db_upsert_session(struct SessionDbHandle *handle,
                                              const char *session_id,
                                              int64_t project_id);

/**
 * Sessions of a project, most recently updated first.
 * Ownership: `*out_array` is new; free it with session_db_free_sessions.
 * Errors: NullPointer, DatabaseError.
 */
enum SessionDbError session_db_list_sessions(const struct SessionDbHandle *handle,
                                             int64_t project_id,
                                             struct SessionArray **out_array);

/** Free a SessionArray from session_db_list_sessions. NULL is a no-op. */
void session_db_free_sessions(struct SessionArray *array);

/**
 * The session's scan checkpoint (last_message_at): `*out_timestamp` = -1 when unset or
 * the session is unknown. Ownership: nothing to free.
 * Errors: NullPointer, InvalidUtf8, DatabaseError.
 */
enum SessionDbError session_db_get_scan_checkpoint(const struct SessionDbHandle *handle,
                                                   const char *session_id,
                                                   int64_t *out_timestamp);

/**
 * Set the session's scan checkpoint (also bumps updated_at). Success even when the
 * session does not exist. Ownership: nothing to free.
 * Errors: NullPointer, InvalidUtf8, PermissionDenied, DatabaseError.
 */
enum SessionDbError session_db_update_session_last_message(struct SessionDbHandle *handle,
                                                           const char *session_id,
                                                           int64_t timestamp);

/**
 * Insert `message_count` messages into an existing session; messages whose uuid is
 * already stored are skipped. The batch is checked first and written atomically: a NULL
 * string inside an element (NullPointer), invalid UTF-8 (InvalidUtf8) or a role outside
 * 0..3 (Unknown) rejects the whole batch before anything is written. `messages` must
 * not be NULL, even when `message_count` is 0. `out_inserted` (optional) receives the
 * number of new rows. Ownership: the input array stays the caller's; nothing to free.
 * Errors: NullPointer, InvalidUtf8, Unknown, PermissionDenied, DatabaseError (unknown
 * session).
 */
enum SessionDbError session_db_insert_messages(struct SessionDbHandle *handle,
                                               const char *session_id,
                                               const struct MessageInputC *messages,
                                               uintptr_t message_count,
                                               uintptr_t *out_inserted);

/**
 * Messages of a session in sequence order, `limit` of them (0 gives none, SIZE_MAX
 * all) after skipping `offset`. `content` is the full text.
 * Ownership: `*out_array` is new; free it with session_db_free_messages.
 * Errors: NullPointer, InvalidUtf8, DatabaseError.
 */
enum SessionDbError session_db_list_messages(const struct SessionDbHandle *handle,
                                             const char *session_id,
                                             uintptr_t limit,
                                             uintptr_t offset,
                                             struct MessageArray **out_array);

/** Free a MessageArray from session_db_list_messages. NULL is a no-op. */
void session_db_free_messages(struct MessageArray *array);

/* ===================================================================== search */

/**
 * Full-text search, best matches first. The query language: words are ANDed,
 * "exact phrase", prefix*, a OR b, -exclude; CJK text and code identifiers are found;
 * no input is a syntax error (a query with nothing searchable gives no results).
 * Ownership: `*out_array` is new; free it with session_db_free_search_results.
 * Errors: NullPointer, InvalidUtf8, DatabaseError.
 */
enum SessionDbError session_db_search_fts(const struct SessionDbHandle *handle,
                                          const char *query,
                                          uintptr_t limit,
                                          struct SearchResultArray **out_array);

/**
 * session_db_search_fts within one project (`project_id` < 0: every project).
 * Ownership: `*out_array` is new; free it with session_db_free_search_results.
 * Errors: NullPointer, InvalidUtf8, DatabaseError.
 */
enum SessionDbError session_db_search_fts_with_project(const struct SessionDbHandle *handle,
                                                       const char *query,
                                                       uintptr_t limit,
                                                       int64_t project_id,
                                                       struct SearchResultArray **out_array);

/** Free a SearchResultArray from any session_db_search* function. NULL is a no-op. */
void session_db_free_search_results(struct SearchResultArray *array);

/**
 * session_db_search_fts with a project filter (< 0: none), an order, and inclusive
 * time bounds in epoch ms (< 0: none).
 * Ownership: `*out_array` is new; free it with session_db_free_search_results.
 * Errors: NullPointer, InvalidUtf8, Unknown (order_by out of range), DatabaseError.
 */
enum SessionDbError session_db_search_fts_full(const struct SessionDbHandle *handle,
                                               const char *query,
                                               uintptr_t limit,
                                               int64_t project_id,
                                               enum SearchOrderByC order_by,
                                               int64_t start_timestamp,
                                               int64_t end_timestamp,
                                               struct SearchResultArray **out_array);

/**
 * session_db_search_fts with a project filter (< 0: none) and an order.
 * Ownership: `*out_array` is new; free it with session_db_free_search_results.
 * Errors: NullPointer, InvalidUtf8, Unknown (order_by out of range), DatabaseError.
 */
enum SessionDbError session_db_search_fts_with_options(const struct SessionDbHandle *handle,
                                                       const char *query,
                                                       uintptr_t limit,
                                                       int64_t project_id,
                                                       enum SearchOrderByC order_by,
                                                       struct SearchResultArray **out_array);

/**
 * Set the approval state of every message carrying `tool_call_id`; `resolved_at` in
 * epoch ms. `out_updated` (optional) receives the number of messages changed.
 * Ownership: nothing to free. Errors: NullPointer, InvalidUtf8, Unknown (status out of
 * range), PermissionDenied, DatabaseError.
 */
enum SessionDbError session_db_update_approval_status_by_tool_call_id(struct SessionDbHandle *handle,
                                                                      const char *tool_call_id,
                                                                      enum ApprovalStatusC status,
                                                                      int64_t resolved_at,
                                                                      uintptr_t *out_updated);

/** Free a string returned by session_db_get_session_path, session_db_get_encoded_dir_name,
 *  session_db_compute_session_path or session_db_integrity_check. NULL is a no-op. */
void session_db_free_string(char *s);

/* ================================================ session files (no database) */

/**
 * Parse one Claude Code session file (.jsonl) for indexing, streaming it line by line.
 * Returned by value: `.session` is NULL with `.error` Success when the file has no
 * project or no messages; NULL with an error code when it cannot be read (DatabaseError),
 * `jsonl_path` is NULL (NullPointer) or not UTF-8 (InvalidUtf8).
 * Ownership: a non-NULL `.session` is new; free it with session_db_free_parse_result.
 */
struct ParseResult session_db_parse_jsonl(const char *jsonl_path);

/** Free the `session` of a ParseResult from session_db_parse_jsonl. NULL is a no-op. */
void session_db_free_parse_result(struct IndexableSessionC *session);

/**
 * Path of the file of session `session_id` under `projects_path` (NULL: the Claude
 * projects root, $CLAUDE_PROJECTS_PATH or ~/.claude/projects), or NULL when not found
 * or on bad input (see session_db_last_error).
 * Ownership: the returned string is new; free it with session_db_free_string.
 */
char *session_db_get_session_path(const char *projects_path, const char *session_id);

/**
 * The encoded directory name of the project whose working directory is `project_path`
 * (NULL projects_path: the default root), or NULL when not found or on bad input.
 * Ownership: the returned string is new; free it with session_db_free_string.
 */
char *session_db_get_encoded_dir_name(const char *projects_path, const char *project_path);

/**
 * `{projects_path}/{encoded_dir_name}/{session_id}.jsonl` (NULL projects_path: the
 * default root) without touching the disk. Returns NULL on bad input, including names
 * that would leave the projects root ("..", "/", absolute paths).
 * Ownership: the returned string is new; free it with session_db_free_string.
 */
char *session_db_compute_session_path(const char *projects_path,
                                      const char *encoded_dir_name,
                                      const char *session_id);

/**
 * Project directories under `projects_path` (NULL: the default root), most recently
 * active first, at most `limit` (0: all); subagent sessions are not counted. A missing
 * root gives an empty array.
 * Ownership: `*out_array` is new; free it with session_db_free_project_list.
 * Errors: NullPointer, InvalidUtf8, DatabaseError.
 */
enum SessionDbError session_db_list_file_projects(const char *projects_path,
                                                  uint32_t limit,
                                                  struct ProjectInfoArray **out_array);

/** Free a ProjectInfoArray from session_db_list_file_projects. NULL is a no-op. */
void session_db_free_project_list(struct ProjectInfoArray *array);

/**
 * Session files under `projects_path` (NULL: the default root), newest first, of the
 * project at `project_path` (NULL: every project); subagent sessions excluded.
 * Ownership: `*out_array` is new; free it with session_db_free_session_meta_list.
 * Errors: NullPointer, InvalidUtf8, DatabaseError.
 */
enum SessionDbError session_db_list_session_metas(const char *projects_path,
                                                  const char *project_path,
                                                  struct SessionMetaArray **out_array);

/** Free a SessionMetaArray from session_db_list_session_metas. NULL is a no-op. */
void session_db_free_session_meta_list(struct SessionMetaArray *array);

/**
 * The newest session file of the project at `project_path`; `*out_session` = NULL when
 * there is none, or when `within_seconds` > 0 and it is older than that.
 * Ownership: a non-NULL `*out_session` is new; free it with session_db_free_session_meta.
 * Errors: NullPointer, InvalidUtf8, DatabaseError.
 */
enum SessionDbError session_db_find_latest_session(const char *projects_path,
                                                   const char *project_path,
                                                   uint64_t within_seconds,
                                                   struct SessionMetaC **out_session);

/** Free one SessionMetaC from session_db_find_latest_session. NULL is a no-op. */
void session_db_free_session_meta(struct SessionMetaC *session);

/**
 * A page of the messages of a session file, read as a stream: skip `offset`, return up
 * to `limit` (0: all), oldest first when `order_asc`. `total` counts every message,
 * `has_more` says whether messages follow the page. A missing file gives an empty page.
 * Ownership: `*out_result` is new; free it with session_db_free_messages_result.
 * Errors: NullPointer, InvalidUtf8, DatabaseError.
 */
enum SessionDbError session_db_read_session_messages(const char *session_path,
                                                     uintptr_t limit,
                                                     uintptr_t offset,
                                                     bool order_asc,
                                                     struct MessagesResultC **out_result);

/** Free a MessagesResultC from session_db_read_session_messages. NULL is a no-op. */
void session_db_free_messages_result(struct MessagesResultC *result);

/* ================================================================= collection */

/**
 * Collect every source (Claude Code, Codex, OpenCode, Gemini CLI) into the database,
 * incrementally. Only the registered writer may collect (else PermissionDenied).
 * Ownership: `*out_result` is new; free it with session_db_free_collect_result.
 * Errors: NullPointer, PermissionDenied, DatabaseError.
 */
enum SessionDbError session_db_collect(struct SessionDbHandle *handle, struct CollectResultC **out_result);

/**
 * Collect the one session file at `path` (for file watchers). Only the registered
 * writer may collect (else PermissionDenied).
 * Ownership: `*out_result` is new; free it with session_db_free_collect_result.
 * Errors: NullPointer, InvalidUtf8, PermissionDenied, DatabaseError.
 */
enum SessionDbError session_db_collect_by_path(struct SessionDbHandle *handle,
                                               const char *path,
                                               struct CollectResultC **out_result);

/** Free a CollectResultC from a collect function. NULL is a no-op. */
void session_db_free_collect_result(struct CollectResultC *result);

/* ================================================================ additions */

/**
 * Start the embedded interpreter now instead of on the first call, so start-up
 * problems show here: Success, or Unknown with the reason in session_db_last_error.
 * Safe to call many times and from several threads. Ownership: nothing to free.
 */
enum SessionDbError session_db_initialize(void);

/** The library's version ("0.1.0"). Ownership: a static string; do not free. */
const char *session_db_version(void);

/**
 * The Python version the library was built for ("3.11.7"). Needs no interpreter: a
 * program that itself runs Python (ctypes) should compare major.minor with its own
 * before any other call. Ownership: a static string; do not free.
 */
const char *session_db_python_version(void);

/**
 * Message of the most recent call on the calling thread: its error, or "" when it
 * succeeded (every function clears it on entry, except this one,
 * session_db_last_error_code, session_db_version, session_db_python_version and the
 * free functions). So a NULL from a lookup such as session_db_get_session_path means
 * "not found" when this is "" and a failure otherwise.
 * Ownership: owned by the library, per thread; valid until the next call into the
 * library on the same thread. Copy it to keep it. Never NULL.
 */
const char *session_db_last_error(void);

/** Code of the most recent call on the calling thread (Success if it succeeded). */
enum SessionDbError session_db_last_error_code(void);

/**
 * SQLite's extended result code behind the most recent call's DatabaseError on the
 * calling thread (for example 13 SQLITE_FULL, 5 SQLITE_BUSY, 778 SQLITE_IOERR_WRITE),
 * or 0 when that call succeeded or failed for another reason. Cleared like
 * session_db_last_error.
 */
int32_t session_db_last_sqlite_code(void);

/**
 * session_db_connect with options; 0 means "the default" for each number.
 * `read_only`: every write through this handle fails with PermissionDenied.
 * `heartbeat_interval_ms` (10000), `timeout_ms` (30000) and `confirm_count` (3): the
 * writer coordination timing (how often the writer heartbeats; how old a heartbeat
 * may get; how many consecutive stale observations confirm a dead writer).
 * Ownership: `*out_handle` is new; close it with session_db_close.
 * Errors: NullPointer, InvalidUtf8, DatabaseError.
 */
enum SessionDbError session_db_connect_with_options(const char *path,
                                                    bool read_only,
                                                    uint32_t heartbeat_interval_ms,
                                                    uint32_t timeout_ms,
                                                    uint32_t confirm_count,
                                                    struct SessionDbHandle **out_handle);

/**
 * This handle's role as last seen: SESSION_DB_ROLE_WRITER, SESSION_DB_ROLE_READER,
 * or SESSION_DB_ROLE_UNREGISTERED. Ownership: nothing to free. Errors: NullPointer.
 */
enum SessionDbError session_db_current_role(const struct SessionDbHandle *handle, int32_t *out_role);

/**
 * One round of the coordinator loop for `writer_type`: registers on the first call,
 * then heartbeats while writer, or checks the writer's health and takes over when it
 * is confirmed dead or released while reader. `*out_role` is the role afterwards.
 * Call it every heartbeat interval (10 s by default) from your own timer, or use
 * session_db_coordinator_start instead. Ownership: nothing to free.
 * Errors: NullPointer, Unknown (bad writer_type), CoordinationError.
 */
enum SessionDbError session_db_coordinator_step(struct SessionDbHandle *handle,
                                                int32_t writer_type,
                                                int32_t *out_role);

/**
 * Run the coordinator loop for `writer_type` on a background thread of the library
 * (one round at once, then one per heartbeat interval) until session_db_coordinator_stop
 * or session_db_close. `out_role` (optional) receives the role after the first round.
 * Starting again with the same type is a no-op. Ownership: nothing to free.
 * Errors: NullPointer, Unknown (bad writer_type), CoordinationError.
 */
enum SessionDbError session_db_coordinator_start(struct SessionDbHandle *handle,
                                                 int32_t writer_type,
                                                 int32_t *out_role);

/**
 * Stop the background coordinator of this handle (waits for it to finish its round);
 * with `release` the writer role is given up too. No-op when none runs.
 * Ownership: nothing to free. Errors: NullPointer, CoordinationError.
 */
enum SessionDbError session_db_coordinator_stop(struct SessionDbHandle *handle, bool release);

/**
 * Wait up to `timeout_ms` for this handle's role to differ from `known_role`, then
 * write the current role to `*out_role` (equal to `known_role` on timeout). Lets a
 * program react to promotion or demotion without polling. Ownership: nothing to free.
 * Errors: NullPointer.
 */
enum SessionDbError session_db_wait_role_change(const struct SessionDbHandle *handle,
                                                int32_t known_role,
                                                uint32_t timeout_ms,
                                                int32_t *out_role);

/**
 * WAL checkpoint (`mode`: SessionDbCheckpointMode). TRUNCATE also shrinks the WAL file
 * when no reader uses it. Out pointers (optional): WAL frames, and frames copied back.
 * Ownership: nothing to free. Errors: NullPointer, Unknown (bad mode), DatabaseError.
 */
enum SessionDbError session_db_checkpoint(struct SessionDbHandle *handle,
                                          int32_t mode,
                                          int64_t *out_wal_frames,
                                          int64_t *out_checkpointed_frames);

/**
 * SQLite integrity check (`quick`: the faster quick_check). `*out_ok` = true when the
 * database is sound; `out_report` (optional) receives "ok" or the problems found.
 * Ownership: `*out_report` is new; free it with session_db_free_string.
 * Errors: NullPointer, DatabaseError.
 */
enum SessionDbError session_db_integrity_check(struct SessionDbHandle *handle,
                                               bool quick,
                                               bool *out_ok,
                                               char **out_report);

/**
 * Fill `options` with the defaults: no filters, limit 20, score order, "<mark>" markers.
 * `options->query` is set to NULL and must be set before searching. No-op on NULL.
 */
void session_db_search_options_init(struct SessionDbSearchOptions *options);

/**
 * Search with every option (see SessionDbSearchOptions).
 * Ownership: `*out_array` is new; free it with session_db_free_search_results.
 * Errors: NullPointer (options, options->query or out_array NULL), InvalidUtf8,
 * Unknown (role or order out of range), DatabaseError.
 */
enum SessionDbError session_db_search(const struct SessionDbHandle *handle,
                                      const struct SessionDbSearchOptions *options,
                                      struct SearchResultArray **out_array);

/* ========================================================== session relations */

/**
 * The sessions started by `parent_session_id` (subagent transcripts, child sessions),
 * oldest first. Unknown sessions give an empty array.
 * Ownership: `*out_array` is new; free it with session_db_free_session_relations.
 * Errors: NullPointer, InvalidUtf8, DatabaseError.
 */
enum SessionDbError session_db_get_children_sessions(const struct SessionDbHandle *handle,
                                                     const char *parent_session_id,
                                                     struct SessionRelationArray **out_array);

/**
 * The session that started `child_session_id`: `*out_relation` = NULL when it has no
 * parent (or is unknown).
 * Ownership: a non-NULL `*out_relation` is new; free it with session_db_free_session_relation.
 * Errors: NullPointer, InvalidUtf8, DatabaseError.
 */
enum SessionDbError session_db_get_parent_session(const struct SessionDbHandle *handle,
                                                  const char *child_session_id,
                                                  struct SessionRelationC **out_relation);

/** Free a SessionRelationArray from session_db_get_children_sessions. NULL is a no-op. */
void session_db_free_session_relations(struct SessionRelationArray *array);

/** Free one SessionRelationC from session_db_get_parent_session. NULL is a no-op. */
void session_db_free_session_relation(struct SessionRelationC *relation);

/**
 * Tokens and cost summed by `by` (SessionDbUsageGroup: per day and per session, and
 * week, month, project, model, source): dates oldest first, the others costliest
 * first. Filters: calls in [`since`, `until`] (epoch ms, inclusive; -1 for no bound),
 * of `source` ("claude", "codex", ...; NULL for every source) and of `session_id` (NULL
 * for every session: pass one id with SESSION_DB_USAGE_BY_SESSION for its total).
 * Prices: the bundled table with the user's price file (~/.config/sessiondb/prices.json
 * or $SESSIONDB_PRICES) merged in.
 * Ownership: `*out_array` is new; free it with session_db_free_usage.
 * Errors: NullPointer, InvalidUtf8, Unknown (bad `by`, or a bad price file), DatabaseError.
 */
enum SessionDbError session_db_usage(const struct SessionDbHandle *handle,
                                     int32_t by,
                                     int64_t since,
                                     int64_t until,
                                     const char *source,
                                     const char *session_id,
                                     struct SessionDbUsageArray **out_array);

/** Free a SessionDbUsageArray from session_db_usage, its elements and their strings. NULL is a no-op. */
void session_db_free_usage(struct SessionDbUsageArray *array);

/* ================================================ upstream layouts (see above) */

/** session_db_list_sessions with SessionDbSessionV2 rows (type and source).
 *  Ownership: free `*out_array` with session_db_v2_free_sessions. Errors: NullPointer, DatabaseError. */
enum SessionDbError session_db_v2_list_sessions(const struct SessionDbHandle *handle,
                                                int64_t project_id,
                                                struct SessionDbSessionV2Array **out_array);

/** Free a SessionDbSessionV2Array from session_db_v2_list_sessions. NULL is a no-op. */
void session_db_v2_free_sessions(struct SessionDbSessionV2Array *array);

/** session_db_list_session_metas with the last-message fields.
 *  Ownership: free `*out_array` with session_db_v2_free_session_meta_list.
 *  Errors: NullPointer, InvalidUtf8, DatabaseError. */
enum SessionDbError session_db_v2_list_session_metas(const char *projects_path,
                                                     const char *project_path,
                                                     struct SessionDbSessionMetaV2Array **out_array);

/** Free a SessionDbSessionMetaV2Array from session_db_v2_list_session_metas. NULL is a no-op. */
void session_db_v2_free_session_meta_list(struct SessionDbSessionMetaV2Array *array);

/** session_db_find_latest_session with the last-message fields.
 *  Ownership: free a non-NULL `*out_session` with session_db_v2_free_session_meta.
 *  Errors: NullPointer, InvalidUtf8, DatabaseError. */
enum SessionDbError session_db_v2_find_latest_session(const char *projects_path,
                                                      const char *project_path,
                                                      uint64_t within_seconds,
                                                      struct SessionDbSessionMetaV2 **out_session);

/** Free one SessionDbSessionMetaV2 from session_db_v2_find_latest_session. NULL is a no-op. */
void session_db_v2_free_session_meta(struct SessionDbSessionMetaV2 *session);

/* ================================================================ agent client */

/*
 * The upstream ABI's agent client, without an agent: the client joins writer
 * coordination itself, in this process, with its loop on a background thread of the
 * library. While it is the Writer it collects every file it is told about at once;
 * while it is a Reader it hands the path to the current Writer through a spool
 * directory beside the database (`<db file>.requests/`), never writing the database
 * itself, and the Writer collects it within its drain interval (50 ms). No call waits
 * on another process: registration happens on the background thread.
 */

/**
 * A new, unconnected client for `component`: "memexkit" joins as MemexKit (priority 2),
 * "vlaudekit" as VlaudeKit (priority 2), any other name as a named writer of
 * priority 1. `data_dir` (NULL: $CLAUDE_SESSION_DB_URL, else ~/.vimo/db/ai-cli-session.db)
 * holds the database at `<data_dir>/db/ai-cli-session.db`. `agent_source_dir` is
 * accepted and ignored (there is no agent program to deploy); it must be UTF-8 if given.
 * Ownership: `*out_handle` is new; release it with agent_client_destroy.
 * Errors: NullPointer, InvalidUtf8, RequestFailed (an empty name or directory).
 */
enum SessionDbError agent_client_create(const char *component,
                                        const char *data_dir,
                                        const char *agent_source_dir,
                                        struct AgentClientHandle **out_handle);

/** Disconnect (when connected) and release the handle. NULL, stale or unknown handles are a no-op. */
void agent_client_destroy(struct AgentClientHandle *handle);

/**
 * Open the database and join writer coordination on a background thread (it registers
 * there, so this returns in milliseconds). Connecting a connected client is a no-op.
 * Ownership: nothing to free. Errors: NullPointer, ConnectionFailed, RuntimeError.
 */
enum SessionDbError agent_client_connect(struct AgentClientHandle *handle);

/**
 * Get the session file at `path` collected. As Writer: returns after its new lines are
 * stored (an append costs milliseconds). As Reader (or before the first coordination
 * round, which this waits for at most 250 ms): hands the path to the Writer and returns
 * at once; the Writer stores it within its drain interval.
 * Ownership: nothing to free. Errors: NullPointer, InvalidUtf8, NotConnected,
 * RequestFailed (the file cannot be collected, the spool cannot be written).
 */
enum SessionDbError agent_client_notify_file_change(struct AgentClientHandle *handle, const char *path);

/**
 * Record the approval of the tool call `tool_call_id` (`status`: ApprovalStatusC 0..3,
 * `resolved_at` in ms) the same way: at once as Writer, through the Writer as Reader.
 * An approval whose tool call is not stored yet is kept and applied when it is (for
 * up to 10 minutes). Ownership: nothing to free. Errors: NullPointer, InvalidUtf8,
 * NotConnected, Unknown (status out of range), RequestFailed.
 */
enum SessionDbError agent_client_write_approve_result(struct AgentClientHandle *handle,
                                                      const char *tool_call_id,
                                                      enum ApprovalStatusC status,
                                                      int64_t resolved_at);

/** Whether the client is connected. False for NULL, stale or unknown handles. */
bool agent_client_is_connected(const struct AgentClientHandle *handle);

/**
 * Leave writer coordination (a Writer releases the role at once, so a Reader elsewhere
 * takes over) and close the database. Later calls fail with NotConnected until
 * agent_client_connect. NULL, stale or unknown handles are a no-op.
 */
void agent_client_disconnect(struct AgentClientHandle *handle);

/** The library's version, as the agent client's ("0.1.0"). Ownership: static; do not free. */
const char *agent_client_version(void);

/* @@SESSIONDB_API_END@@ */

#ifdef __cplusplus
}
#endif

#endif  /* CLAUDE_SESSION_DB_H */
