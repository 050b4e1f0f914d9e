/*
 * The C half of libsessiondb: interpreter start-up, the per-thread last error, memory
 * helpers for the Python side, and the functions that need no Python at all (the free
 * functions, versions, last error, option defaults).
 *
 * This file is pasted by csrc/build_capi.py into cffi's generated module, after cffi's
 * own embedding support (which defines CFFI_DLLEXPORT and cffi_start_python) and after
 * the baked constants SDB_VERSION, SDB_BUILD_PYTHON and SDB_LIBPYTHON_SONAME. The
 * exported entry points that call into Python are generated from the header and follow
 * this file. Every function defined here with SDB_API is exported; the build takes the
 * list of C-implemented functions from these definitions.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sessiondb.h"

#define SDB_API CFFI_DLLEXPORT

/* ------------------------------------------------------------ last error */

/* Fixed-size per-thread buffer: nothing to free when a thread ends. */
#define SDB_ERROR_CAPACITY 2048
static __thread char sdb_error_text[SDB_ERROR_CAPACITY];
static __thread int sdb_error_code;
static __thread int sdb_sqlite_code;

/* Copy at most SDB_ERROR_CAPACITY-1 bytes without cutting a UTF-8 sequence in half. */
static void sdb_copy_utf8(char *dst, size_t capacity, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= capacity) {
        n = capacity - 1;
        while (n > 0 && (((unsigned char)src[n]) & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static void _sdb_set_error(int code, const char *message)
{
    sdb_error_code = code;
    sdb_sqlite_code = 0;
    sdb_copy_utf8(sdb_error_text, SDB_ERROR_CAPACITY, message);
}

/* Set after _sdb_set_error when the failure came from SQLite. */
static void _sdb_set_sqlite_code(int code)
{
    sdb_sqlite_code = code;
}

/* Every call implemented in Python starts by forgetting the previous call's error, so
   the last error always describes the most recent call (a NULL "not found" result is
   then told apart from a failure by an empty message). */
static inline void sdb_clear_error(void)
{
    sdb_error_code = 0;
    sdb_sqlite_code = 0;
    sdb_error_text[0] = '\0';
}

SDB_API const char *session_db_last_error(void)
{
    return sdb_error_text;
}

SDB_API enum SessionDbError session_db_last_error_code(void)
{
    return (enum SessionDbError)sdb_error_code;
}

SDB_API int32_t session_db_last_sqlite_code(void)
{
    return sdb_sqlite_code;
}

/* ------------------------------------------------------------ memory helpers */

/* A malloc'd copy of n bytes plus a terminating NUL (NULL when out of memory). */
static char *_sdb_strndup(const char *s, size_t n)
{
    char *p = (char *)malloc(n + 1);
    if (p) {
        if (n)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void *_sdb_calloc(size_t count, size_t size)
{
    return calloc(count ? count : 1, size ? size : 1);
}

static const char *_sdb_self_path(void)
{
    Dl_info info;
    if (dladdr((void *)&_sdb_self_path, &info) && info.dli_fname)
        return info.dli_fname;
    return NULL;
}

static const char *_sdb_built_version(void)
{
    return SDB_VERSION;
}

/* ------------------------------------------------------------ free functions */

static void sdb_free_session_meta_fields(struct SessionMetaC *m)
{
    free(m->id);
    free(m->project_path);
    free(m->project_name);
    free(m->encoded_dir_name);
    free(m->session_path);
}

SDB_API void session_db_free_string(char *s)
{
    free(s);
}

SDB_API void session_db_free_projects(struct ProjectArray *array)
{
    if (!array)
        return;
    for (uintptr_t i = 0; array->data && i < array->len; i++) {
        free(array->data[i].name);
        free(array->data[i].path);
        free(array->data[i].source);
    }
    free(array->data);
    free(array);
}

SDB_API void session_db_free_sessions(struct SessionArray *array)
{
    if (!array)
        return;
    for (uintptr_t i = 0; array->data && i < array->len; i++)
        free(array->data[i].session_id);
    free(array->data);
    free(array);
}

SDB_API void session_db_free_messages(struct MessageArray *array)
{
    if (!array)
        return;
    for (uintptr_t i = 0; array->data && i < array->len; i++) {
        free(array->data[i].session_id);
        free(array->data[i].uuid);
        free(array->data[i].content);
        free(array->data[i].raw);
    }
    free(array->data);
    free(array);
}

SDB_API void session_db_free_search_results(struct SearchResultArray *array)
{
    if (!array)
        return;
    for (uintptr_t i = 0; array->data && i < array->len; i++) {
        free(array->data[i].session_id);
        free(array->data[i].project_name);
        free(array->data[i].role);
        free(array->data[i].content);
        free(array->data[i].snippet);
    }
    free(array->data);
    free(array);
}

SDB_API void session_db_free_parse_result(struct IndexableSessionC *session)
{
    if (!session)
        return;
    free(session->session_id);
    free(session->project_path);
    free(session->project_name);
    for (uintptr_t i = 0; session->messages.data && i < session->messages.len; i++) {
        free(session->messages.data[i].uuid);
        free(session->messages.data[i].role);
        free(session->messages.data[i].content);
    }
    free(session->messages.data);
    free(session);
}

SDB_API void session_db_free_project_list(struct ProjectInfoArray *array)
{
    if (!array)
        return;
    for (uintptr_t i = 0; array->data && i < array->len; i++) {
        free(array->data[i].encoded_name);
        free(array->data[i].path);
        free(array->data[i].name);
    }
    free(array->data);
    free(array);
}

SDB_API void session_db_free_session_meta_list(struct SessionMetaArray *array)
{
    if (!array)
        return;
    for (uintptr_t i = 0; array->data && i < array->len; i++)
        sdb_free_session_meta_fields(&array->data[i]);
    free(array->data);
    free(array);
}

SDB_API void session_db_free_session_meta(struct SessionMetaC *session)
{
    if (!session)
        return;
    sdb_free_session_meta_fields(session);
    free(session);
}

SDB_API void session_db_free_messages_result(struct MessagesResultC *result)
{
    if (!result)
        return;
    for (uintptr_t i = 0; result->messages && i < result->message_count; i++) {
        free(result->messages[i].uuid);
        free(result->messages[i].session_id);
        free(result->messages[i].content);
        free(result->messages[i].timestamp);
    }
    free(result->messages);
    free(result);
}

SDB_API void session_db_free_collect_result(struct CollectResultC *result)
{
    if (!result)
        return;
    free(result->first_error);
    free(result);
}

static void sdb_free_relation_fields(struct SessionRelationC *r)
{
    free(r->parent_session_id);
    free(r->child_session_id);
    free(r->relation_type);
    free(r->source);
}

SDB_API void session_db_free_session_relations(struct SessionRelationArray *array)
{
    if (!array)
        return;
    for (uintptr_t i = 0; array->data && i < array->len; i++)
        sdb_free_relation_fields(&array->data[i]);
    free(array->data);
    free(array);
}

SDB_API void session_db_free_session_relation(struct SessionRelationC *relation)
{
    if (!relation)
        return;
    sdb_free_relation_fields(relation);
    free(relation);
}

SDB_API void session_db_free_usage(struct SessionDbUsageArray *array)
{
    if (!array)
        return;
    for (uintptr_t i = 0; array->data && i < array->len; i++) {
        free(array->data[i].key);
        free(array->data[i].models);
        free(array->data[i].unpriced_models);
    }
    free(array->data);
    free(array);
}

SDB_API void session_db_v2_free_sessions(struct SessionDbSessionV2Array *array)
{
    if (!array)
        return;
    for (uintptr_t i = 0; array->data && i < array->len; i++) {
        free(array->data[i].session_id);
        free(array->data[i].session_type);
        free(array->data[i].source);
    }
    free(array->data);
    free(array);
}

static void sdb_free_session_meta_v2_fields(struct SessionDbSessionMetaV2 *m)
{
    free(m->id);
    free(m->project_path);
    free(m->project_name);
    free(m->encoded_dir_name);
    free(m->session_path);
    free(m->last_message_type);
    free(m->last_message_preview);
}

SDB_API void session_db_v2_free_session_meta_list(struct SessionDbSessionMetaV2Array *array)
{
    if (!array)
        return;
    for (uintptr_t i = 0; array->data && i < array->len; i++)
        sdb_free_session_meta_v2_fields(&array->data[i]);
    free(array->data);
    free(array);
}

SDB_API void session_db_v2_free_session_meta(struct SessionDbSessionMetaV2 *session)
{
    if (!session)
        return;
    sdb_free_session_meta_v2_fields(session);
    free(session);
}

/* ------------------------------------------------------------ constants */

SDB_API const char *session_db_version(void)
{
    return SDB_VERSION;
}

SDB_API const char *agent_client_version(void)
{
    return SDB_VERSION;
}

SDB_API const char *session_db_python_version(void)
{
    return PY_VERSION;
}

SDB_API void session_db_search_options_init(struct SessionDbSearchOptions *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->limit = 20;
    options->project_id = -1;
    options->role = -1;
    options->order_by = Score;
    options->start_timestamp = -1;
    options->end_timestamp = -1;
}

/* ------------------------------------------------------------ interpreter start-up */

/* 0: not tried yet, 1: running, -1: failed (sticky: the reason stays in sdb_init_error). */
static int sdb_ready;
static pthread_mutex_t sdb_init_lock = PTHREAD_MUTEX_INITIALIZER;
static char sdb_init_error[SDB_ERROR_CAPACITY];

/* Called by the frozen init code when loading the Python package fails. */
static void _sdb_set_init_error(const char *message)
{
    sdb_copy_utf8(sdb_init_error, SDB_ERROR_CAPACITY, message);
}

/* Signals whose disposition the host chose and Python start-up may change. */
static const int sdb_guarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGXFSZ, SIGUSR1, SIGUSR2};
#define SDB_GUARDED_COUNT (sizeof sdb_guarded_signals / sizeof sdb_guarded_signals[0])

static void sdb_save_signals(struct sigaction *saved)
{
    for (size_t i = 0; i < SDB_GUARDED_COUNT; i++)
        sigaction(sdb_guarded_signals[i], NULL, &saved[i]);
}

static void sdb_restore_signals(const struct sigaction *saved)
{
    for (size_t i = 0; i < SDB_GUARDED_COUNT; i++) {
        struct sigaction now;
        if (sigaction(sdb_guarded_signals[i], NULL, &now) == 0 && now.sa_handler != saved[i].sa_handler)
            sigaction(sdb_guarded_signals[i], &saved[i], NULL);
    }
}

/* Fork handlers (what os.fork() does): no thread may hold the GIL across fork(),
 * and the child re-initialises the interpreter's locks. */
static PyGILState_STATE sdb_fork_gil;
static void sdb_before_fork(void)
{
    sdb_fork_gil = PyGILState_Ensure();
    PyOS_BeforeFork();
}
static void sdb_after_fork_parent(void)
{
    PyOS_AfterFork_Parent();
    PyGILState_Release(sdb_fork_gil);
}
static void sdb_after_fork_child(void)
{
    PyOS_AfterFork_Child();
    PyGILState_Release(sdb_fork_gil);
}

static int sdb_is_executable(const char *path)
{
    struct stat st;
    return path && *path && stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/*
 * The interpreter to start, so that the embedded Python uses the environment the
 * package is installed in whatever PATH says:
 *   1. $SESSIONDB_PYTHON;
 *   2. the Python of the prefix whose site-packages holds this library
 *      (<prefix>/lib/pythonX.Y/site-packages/sessiondb/_native/libsessiondb.so);
 *      for a virtual environment that is <venv>/bin/python3, which makes Python
 *      pick up the venv's pyvenv.cfg;
 *   3. the interpreter that built the library (development checkouts).
 * Returns 0 with `out` filled, or -1 to let CPython choose.
 */
static int sdb_pick_python(char *out, size_t capacity)
{
    const char *forced = getenv("SESSIONDB_PYTHON");
    if (forced && *forced) {
        snprintf(out, capacity, "%s", forced);
        return 0;
    }
    const char *self = _sdb_self_path();
    char real[PATH_MAX];
    if (self && realpath(self, real)) {
        char marker[64];
        snprintf(marker, sizeof marker, "/lib/python%d.%d/", PY_MAJOR_VERSION, PY_MINOR_VERSION);
        char *cut = strstr(real, marker);
        if (cut) {
            *cut = '\0';
            const char *names[] = {"python3", "python" SDB_PY_SHORT};
            for (size_t i = 0; i < 2; i++) {
                snprintf(out, capacity, "%s/bin/%s", real, names[i]);
                if (sdb_is_executable(out))
                    return 0;
            }
        }
    }
    if (sdb_is_executable(SDB_BUILD_PYTHON)) {
        snprintf(out, capacity, "%s", SDB_BUILD_PYTHON);
        return 0;
    }
    return -1;
}

static int sdb_start_interpreter(void)
{
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0; /* the host owns its signals */
    config.parse_argv = 0;
    config.buffered_stdio = 0;          /* never finalised: nothing may wait in a buffer */
    config.user_site_directory = 0;
    char exe[PATH_MAX + 64];
    PyStatus status = PyStatus_Ok();
    if (sdb_pick_python(exe, sizeof exe) == 0)
        status = PyConfig_SetBytesString(&config, &config.program_name, exe);
    if (!PyStatus_Exception(status))
        status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        snprintf(sdb_init_error, sizeof sdb_init_error, "sessiondb: Python %s could not start: %s%s%s",
                 PY_VERSION, status.func ? status.func : "", status.func ? ": " : "",
                 status.err_msg ? status.err_msg : "unknown error");
        return -1;
    }
    PyEval_SaveThread(); /* cffi expects to take the GIL itself */
    return 0;
}

/* Same major.minor as the Python the library was built for? (A host process that
 * already runs another Python version would otherwise hang or crash in cffi.) */
static int sdb_running_python_matches(void)
{
    const char *running = Py_GetVersion();
    char expected[16];
    int n = snprintf(expected, sizeof expected, "%d.%d", PY_MAJOR_VERSION, PY_MINOR_VERSION);
    if (running && strncmp(running, expected, (size_t)n) == 0 && (running[n] < '0' || running[n] > '9'))
        return 1;
    if (!running)
        running = "?";
    int length = (int)strcspn(running, " ");
    snprintf(sdb_init_error, sizeof sdb_init_error,
             "sessiondb: this library was built for Python %s but the process runs Python %.*s; "
             "use a build of sessiondb for that version", expected, length > 32 ? 32 : length, running);
    return 0;
}

static int sdb_start(void)
{
    if (!sdb_running_python_matches())
        return -1;
    int owned = !Py_IsInitialized();
    struct sigaction saved[SDB_GUARDED_COUNT];
    if (owned) {
        /* Hosts that loaded us with RTLD_LOCAL: extension modules need libpython's
         * symbols in the global scope. */
        dlopen(SDB_LIBPYTHON_SONAME, RTLD_LAZY | RTLD_GLOBAL | RTLD_NOLOAD);
        sdb_save_signals(saved);
        if (sdb_start_interpreter() != 0)
            return -1;
    }
    if (cffi_start_python() != 0) {
        if (!sdb_init_error[0])
            snprintf(sdb_init_error, sizeof sdb_init_error,
                     "sessiondb: the Python package could not be loaded (details on stderr)");
        return -1;
    }
    if (owned) {
        sdb_restore_signals(saved);
        pthread_atfork(sdb_before_fork, sdb_after_fork_parent, sdb_after_fork_child);
    }
    return 0;
}

static int sdb_ensure_python_slow(void)
{
    pthread_mutex_lock(&sdb_init_lock);
    if (__atomic_load_n(&sdb_ready, __ATOMIC_ACQUIRE) == 0)
        __atomic_store_n(&sdb_ready, sdb_start() == 0 ? 1 : -1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&sdb_init_lock);
    if (__atomic_load_n(&sdb_ready, __ATOMIC_ACQUIRE) == 1)
        return 0;
    _sdb_set_error(Unknown, sdb_init_error);
    return -1;
}

/* The hot path of every Python-backed entry point: one atomic load. */
static inline int sdb_ensure_python(void)
{
    return __atomic_load_n(&sdb_ready, __ATOMIC_ACQUIRE) == 1 ? 0 : sdb_ensure_python_slow();
}

SDB_API enum SessionDbError session_db_initialize(void)
{
    return sdb_ensure_python() == 0 ? Success : Unknown;
}
