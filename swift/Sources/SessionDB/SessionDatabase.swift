internal import CSessionDB

/// How often the writer heartbeats and when readers declare it dead.
///
/// Every program sharing a database should use the same timings. The defaults are the
/// product's: heartbeat every 10 s, a heartbeat older than 30 s is stale, and 3
/// consecutive stale checks confirm a dead writer. A writer whose process ended is
/// replaced at once, whatever these say.
public struct CoordinationTimings: Sendable, Hashable {
    public var heartbeatInterval: Duration
    public var timeout: Duration
    public var confirmCount: Int

    public init(heartbeatInterval: Duration = .seconds(10), timeout: Duration = .seconds(30), confirmCount: Int = 3) {
        self.heartbeatInterval = heartbeatInterval
        self.timeout = timeout
        self.confirmCount = confirmCount
    }

    public static let `default` = CoordinationTimings()
}

/// How to open a database.
public struct ConnectionOptions: Sendable, Hashable {
    /// Refuse every write through this connection (PermissionDenied).
    public var readOnly: Bool
    public var coordination: CoordinationTimings

    public init(readOnly: Bool = false, coordination: CoordinationTimings = .default) {
        self.readOnly = readOnly
        self.coordination = coordination
    }
}

/// A connection to the shared session database.
///
/// Safe to share between threads and tasks: the library serialises the calls made on
/// one connection, so every method may be called from anywhere. Methods block while
/// SQLite works; call them off the main thread when the data is large. The connection
/// closes when the object is released, or earlier with ``close()``; after that every
/// call throws ``SessionDBError/Code/nullPointer``.
///
/// Several programs (and several connections in one program) may open the same file.
/// Exactly one of them writes at a time: see ``registerWriter(_:)`` and
/// ``WriterCoordinator``. A connection that never registers may write only while no
/// writer is registered.
public final class SessionDatabase: @unchecked Sendable {
    // @unchecked: the only stored state is immutable; the handle is an opaque token that
    // the library validates on every call and serialises calls on.
    let handle: OpaquePointer
    /// The path given when opening (nil: the default database).
    public let path: String?
    public let options: ConnectionOptions

    /// Opens (creating or upgrading) the database at `path`.
    ///
    /// `path` nil opens `$CLAUDE_SESSION_DB_URL`, else `~/.vimo/db/ai-cli-session.db`; `~` is
    /// expanded and missing directories are created.
    public init(path: String? = nil, options: ConnectionOptions = ConnectionOptions()) throws(SessionDBError) {
        let function = "session_db_connect_with_options"
        try Library.start()
        let path = try cText(path, "path", function)
        let timings = options.coordination
        let interval = try milliseconds(timings.heartbeatInterval, "heartbeatInterval", function)
        let timeout = try milliseconds(timings.timeout, "timeout", function)
        guard timings.confirmCount > 0, timings.confirmCount <= Int(UInt32.max) else {
            throw SessionDBError(code: .invalidArgument,
                                 message: "confirmCount must be at least 1 (got \(timings.confirmCount))",
                                 function: function)
        }
        var opened: OpaquePointer?
        let status = withOptionalCString(path) {
            session_db_connect_with_options($0, options.readOnly, interval, timeout, UInt32(timings.confirmCount),
                                            &opened)
        }
        try check(status, function)
        guard let opened else {
            throw SessionDBError(code: .unknown, message: "the library returned no handle", function: function)
        }
        self.handle = opened
        self.path = path
        self.options = options
    }

    deinit {
        session_db_close(handle)
    }

    /// Closes the connection now: stops its coordinator and gives up the writer role if
    /// it holds it. Closing twice is harmless.
    public func close() {
        session_db_close(handle)
    }

    // MARK: - Statistics and maintenance

    /// Counts of projects, sessions and messages.
    public func stats() throws(SessionDBError) -> DatabaseStats {
        var projects: Int64 = 0, sessions: Int64 = 0, messages: Int64 = 0
        try check(session_db_get_stats(handle, &projects, &sessions, &messages), "session_db_get_stats")
        return DatabaseStats(projects: projects, sessions: sessions, messages: messages)
    }

    /// Runs SQLite's integrity check (`quick`: the faster quick_check).
    public func integrityCheck(quick: Bool = false) throws(SessionDBError) -> IntegrityReport {
        var ok = false
        var report: UnsafeMutablePointer<CChar>?
        try check(session_db_integrity_check(handle, quick, &ok, &report), "session_db_integrity_check")
        defer { session_db_free_string(report) }
        return IntegrityReport(isOK: ok, report: text(report) ?? "")
    }

    /// Copies the WAL back into the database file.
    @discardableResult
    public func checkpoint(_ mode: CheckpointMode = .passive) throws(SessionDBError) -> CheckpointResult {
        var frames: Int64 = 0, copied: Int64 = 0
        try check(session_db_checkpoint(handle, mode.rawValue, &frames, &copied), "session_db_checkpoint")
        return CheckpointResult(walFrames: frames, checkpointedFrames: copied)
    }

    // MARK: - Projects

    /// The id of the project at `path`, creating it with `name` and `source` if needed.
    /// An existing project keeps its name and source.
    @discardableResult
    public func upsertProject(name: String, path: String, source: String) throws(SessionDBError) -> Int64 {
        let function = "session_db_upsert_project"
        let name = try cText(name, "name", function)
        let path = try cText(path, "path", function)
        let source = try cText(source, "source", function)
        var id: Int64 = 0
        let status = name.withCString { n in
            path.withCString { p in
                source.withCString { s in session_db_upsert_project(handle, n, p, s, &id) }
            }
        }
        try check(status, function)
        return id
    }

    /// Every project, most recently updated first.
    public func projects() throws(SessionDBError) -> [Project] {
        var array: UnsafeMutablePointer<ProjectArray>?
        try check(session_db_list_projects(handle, &array), "session_db_list_projects")
        defer { session_db_free_projects(array) }
        guard let array else { return [] }
        return elements(array.pointee.data, array.pointee.len) { p in
            Project(id: p.id, name: text(p.name) ?? "", path: text(p.path) ?? "", source: text(p.source) ?? "",
                    createdAt: p.created_at, updatedAt: p.updated_at)
        }
    }

    // MARK: - Sessions

    /// Creates the session in the project, or marks it updated (it keeps its project).
    public func upsertSession(_ sessionID: String, projectID: Int64) throws(SessionDBError) {
        let function = "session_db_upsert_session"
        let sessionID = try cText(sessionID, "sessionID", function)
        let status = sessionID.withCString { session_db_upsert_session(handle, $0, projectID) }
        try check(status, function)
    }

    /// The sessions of a project, most recently updated first.
    public func sessions(projectID: Int64) throws(SessionDBError) -> [Session] {
        var array: UnsafeMutablePointer<SessionArray>?
        try check(session_db_list_sessions(handle, projectID, &array), "session_db_list_sessions")
        defer { session_db_free_sessions(array) }
        guard let array else { return [] }
        return elements(array.pointee.data, array.pointee.len) { s in
            Session(id: s.id, sessionID: text(s.session_id) ?? "", projectID: s.project_id,
                    messageCount: s.message_count, lastMessageAt: optionalTimestamp(s.last_message_at),
                    createdAt: s.created_at, updatedAt: s.updated_at)
        }
    }

    /// The session's scan checkpoint (time of its newest collected message), or nil.
    public func scanCheckpoint(sessionID: String) throws(SessionDBError) -> Int64? {
        let function = "session_db_get_scan_checkpoint"
        let sessionID = try cText(sessionID, "sessionID", function)
        var timestamp: Int64 = -1
        let status = sessionID.withCString { session_db_get_scan_checkpoint(handle, $0, &timestamp) }
        try check(status, function)
        return optionalTimestamp(timestamp)
    }

    /// Sets the session's scan checkpoint. Succeeds even when the session does not exist.
    public func setScanCheckpoint(sessionID: String, timestamp: Int64) throws(SessionDBError) {
        let function = "session_db_update_session_last_message"
        let sessionID = try cText(sessionID, "sessionID", function)
        let status = sessionID.withCString { session_db_update_session_last_message(handle, $0, timestamp) }
        try check(status, function)
    }

    // MARK: - Messages

    /// Inserts messages into an existing session; messages whose uuid is already stored
    /// are skipped. The batch is written atomically: all of it or none.
    ///
    /// - Returns: how many messages were new.
    @discardableResult
    public func insertMessages(_ messages: [MessageInput], into sessionID: String) throws(SessionDBError) -> Int {
        let function = "session_db_insert_messages"
        let sessionID = try cText(sessionID, "sessionID", function)
        for message in messages {
            _ = try cText(message.uuid, "uuid", function)
            _ = try cText(message.content, "content", function)
        }
        // One buffer holds every string of the batch, NUL-terminated, for the call.
        var offsets: [(uuid: Int, content: Int)] = []
        offsets.reserveCapacity(messages.count)
        var size = 0
        for message in messages {
            let uuidAt = size
            size += message.uuid.utf8.count + 1
            offsets.append((uuidAt, size))
            size += message.content.utf8.count + 1
        }
        let strings = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(size, 1))
        defer { strings.deallocate() }
        var position = 0
        for message in messages {
            for part in [message.uuid, message.content] {
                for byte in part.utf8 {
                    strings[position] = CChar(bitPattern: byte)
                    position += 1
                }
                strings[position] = 0
                position += 1
            }
        }
        let base = strings.baseAddress!
        var inputs = [MessageInputC]()
        inputs.reserveCapacity(messages.count)
        for (message, at) in zip(messages, offsets) {
            inputs.append(MessageInputC(uuid: UnsafePointer(base + at.uuid), role: message.role.rawValue,
                                        content: UnsafePointer(base + at.content), timestamp: message.timestamp,
                                        sequence: message.sequence))
        }
        var inserted: UInt = 0
        let status = sessionID.withCString { sid in
            inputs.withUnsafeBufferPointer { batch in
                // The library wants a non-NULL array even for an empty batch.
                withUnsafeTemporaryAllocation(of: MessageInputC.self, capacity: 1) { placeholder in
                    session_db_insert_messages(handle, sid, batch.baseAddress ?? UnsafePointer(placeholder.baseAddress!),
                                               UInt(batch.count), &inserted)
                }
            }
        }
        try check(status, function)
        return Int(inserted)
    }

    /// The messages of a session in sequence order: `limit` of them (nil: all) after
    /// skipping `offset`.
    public func messages(sessionID: String, limit: Int? = nil, offset: Int = 0) throws(SessionDBError) -> [Message] {
        let function = "session_db_list_messages"
        let sessionID = try cText(sessionID, "sessionID", function)
        let count = try limit.map { (value: Int) throws(SessionDBError) -> UInt in
            try cCount(value, "limit", function)
        } ?? UInt.max
        let skip = try cCount(offset, "offset", function)
        var array: UnsafeMutablePointer<MessageArray>?
        let status = sessionID.withCString { session_db_list_messages(handle, $0, count, skip, &array) }
        try check(status, function)
        defer { session_db_free_messages(array) }
        guard let array else { return [] }
        return elements(array.pointee.data, array.pointee.len) { m in
            Message(id: m.id, sessionID: text(m.session_id) ?? "", uuid: text(m.uuid) ?? "",
                    role: MessageRole(rawValue: m.role) ?? .system, content: text(m.content) ?? "",
                    timestamp: m.timestamp, sequence: m.sequence, raw: text(m.raw))
        }
    }

    /// Sets the approval state of every message carrying the tool call `toolCallID`.
    ///
    /// - Parameter resolvedAt: when it was decided, epoch milliseconds.
    /// - Returns: how many messages changed.
    @discardableResult
    public func updateApprovalStatus(toolCallID: String, status: ApprovalStatus,
                                     resolvedAt: Int64) throws(SessionDBError) -> Int {
        let function = "session_db_update_approval_status_by_tool_call_id"
        let toolCallID = try cText(toolCallID, "toolCallID", function)
        var updated: UInt = 0
        let result = toolCallID.withCString {
            session_db_update_approval_status_by_tool_call_id(handle, $0, ApprovalStatusC(UInt32(status.rawValue)),
                                                              resolvedAt, &updated)
        }
        try check(result, function)
        return Int(updated)
    }
}

/// Library-wide facts and start-up.
public enum Library {
    /// The library's version ("0.1.0").
    public static var version: String { String(cString: session_db_version()) }

    /// The Python version the library was built for.
    public static var pythonVersion: String { String(cString: session_db_python_version()) }

    private static let startup: Result<Void, SessionDBError> = {
        let status = session_db_initialize()
        if status != Success {
            return .failure(lastError(status: status.rawValue, function: "session_db_initialize"))
        }
        return .success(())
    }()

    /// Starts the library's embedded interpreter (once), so a start-up problem shows
    /// here as an error. Opening a database does it too.
    public static func start() throws(SessionDBError) {
        try startup.get()
    }
}

/// A positive duration as whole milliseconds for the C ABI.
func milliseconds(_ duration: Duration, _ name: String, _ function: String) throws(SessionDBError) -> UInt32 {
    let (seconds, attoseconds) = duration.components
    let ms = seconds.multipliedReportingOverflow(by: 1000)
    let total = ms.overflow ? Int64.max : ms.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        .partialValue
    guard total >= 1, total <= Int64(UInt32.max) else {
        throw SessionDBError(code: .invalidArgument,
                             message: "\(name) must be between 1 ms and \(UInt32.max) ms (got \(duration))",
                             function: function)
    }
    return UInt32(total)
}
