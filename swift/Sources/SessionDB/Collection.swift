internal import CSessionDB

/// Collecting session files of every agent CLI into the database (writer only).
///
/// The roots are the agent CLIs' usual places under the home directory, moved by the
/// library's variables (`CLAUDE_PROJECTS_PATH`, `CODEX_PATH`, `OPENCODE_PATH`,
/// `GEMINI_TMP_PATH`) or the tools' own (`CLAUDE_CONFIG_DIR`, `CODEX_HOME`,
/// `XDG_DATA_HOME`, `GEMINI_CLI_HOME`). Collection is incremental: unchanged files cost
/// nothing, appended lines are read from where the last run stopped, and messages are
/// never deleted because a file vanished.
extension SessionDatabase {
    /// Collects every source. Only the registered writer may collect.
    public func collect() throws(SessionDBError) -> CollectResult {
        var result: UnsafeMutablePointer<CollectResultC>?
        try check(session_db_collect(handle, &result), "session_db_collect")
        defer { session_db_free_collect_result(result) }
        return collectResult(result)
    }

    /// Collects the one session file at `path` (for file watchers). Only the registered
    /// writer may collect.
    public func collect(path: String) throws(SessionDBError) -> CollectResult {
        let function = "session_db_collect_by_path"
        let path = try cText(path, "path", function)
        var result: UnsafeMutablePointer<CollectResultC>?
        let status = path.withCString { session_db_collect_by_path(handle, $0, &result) }
        try check(status, function)
        defer { session_db_free_collect_result(result) }
        return collectResult(result)
    }

    /// Registers as a writer of `type` and, when this connection becomes the writer,
    /// collects every source.
    ///
    /// - Returns: the role, and the collection's result when one ran.
    public func registerWriterAndCollect(_ type: WriterType) throws(SessionDBError) -> (role: Role,
                                                                                        result: CollectResult?) {
        let function = "session_db_register_writer_and_collect"
        var raw: Int32 = -1
        var result: UnsafeMutablePointer<CollectResultC>?
        try check(session_db_register_writer_and_collect(handle, type.rawValue, &raw, &result), function)
        defer { session_db_free_collect_result(result) }
        let role = try knownRole(raw, function)
        return (role, result.map { collectResult($0) })
    }

    private func collectResult(_ pointer: UnsafeMutablePointer<CollectResultC>?) -> CollectResult {
        guard let c = pointer?.pointee else {
            return CollectResult(projectsScanned: 0, sessionsScanned: 0, messagesInserted: 0, errorCount: 0,
                                 firstError: nil)
        }
        return CollectResult(projectsScanned: Int(c.projects_scanned), sessionsScanned: Int(c.sessions_scanned),
                             messagesInserted: Int(c.messages_inserted), errorCount: Int(c.error_count),
                             firstError: text(c.first_error))
    }
}
