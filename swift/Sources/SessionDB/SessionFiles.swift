internal import CSessionDB

/// A parsed session file, ready for indexing.
public struct IndexableSession: Sendable, Hashable {
    public let sessionID: String
    /// The working directory the session ran in.
    public let projectPath: String
    public let projectName: String
    public let messages: [IndexableMessage]

    public init(sessionID: String, projectPath: String, projectName: String, messages: [IndexableMessage]) {
        self.sessionID = sessionID
        self.projectPath = projectPath
        self.projectName = projectName
        self.messages = messages
    }
}

/// A message of a parsed session file.
public struct IndexableMessage: Sendable, Hashable {
    public let uuid: String
    /// The role as the library names it ("user", "assistant", "tool", "system").
    public let roleName: String
    public let content: String
    public let timestamp: Int64
    public let sequence: Int64

    public var role: MessageRole? { MessageRole(name: roleName) }

    public init(uuid: String, roleName: String, content: String, timestamp: Int64, sequence: Int64) {
        self.uuid = uuid
        self.roleName = roleName
        self.content = content
        self.timestamp = timestamp
        self.sequence = sequence
    }
}

/// A project directory under the Claude Code projects root.
public struct FileProject: Sendable, Hashable {
    /// The directory's name (the working directory with every other character as `-`).
    public let encodedName: String
    /// The working directory, read from the sessions inside.
    public let path: String
    public let name: String
    public let sessionCount: Int
    /// Time of the most recent activity (epoch ms), when known.
    public let lastActive: Int64?

    public init(encodedName: String, path: String, name: String, sessionCount: Int, lastActive: Int64?) {
        self.encodedName = encodedName
        self.path = path
        self.name = name
        self.sessionCount = sessionCount
        self.lastActive = lastActive
    }
}

/// A session file.
public struct SessionMeta: Sendable, Hashable, Identifiable {
    /// The session id (the file name without `.jsonl`).
    public let id: String
    public let projectPath: String
    public let projectName: String?
    public let encodedDirName: String?
    public let sessionPath: String?
    /// The file's modification time (epoch ms), when known.
    public let fileModified: Int64?
    public let messageCount: Int?

    public init(id: String, projectPath: String, projectName: String?, encodedDirName: String?, sessionPath: String?,
                fileModified: Int64?, messageCount: Int?) {
        self.id = id
        self.projectPath = projectPath
        self.projectName = projectName
        self.encodedDirName = encodedDirName
        self.sessionPath = sessionPath
        self.fileModified = fileModified
        self.messageCount = messageCount
    }
}

/// A message read from a session file.
public struct ParsedMessage: Sendable, Hashable {
    public let uuid: String
    public let sessionID: String
    public let role: MessageRole
    public let content: String
    /// Epoch ms, when the line had a time.
    public let timestamp: Int64?

    public init(uuid: String, sessionID: String, role: MessageRole, content: String, timestamp: Int64?) {
        self.uuid = uuid
        self.sessionID = sessionID
        self.role = role
        self.content = content
        self.timestamp = timestamp
    }
}

/// A page of the messages of a session file.
public struct MessagesPage: Sendable, Hashable {
    public let messages: [ParsedMessage]
    /// How many messages the file holds in all.
    public let total: Int
    /// True when messages follow this page.
    public let hasMore: Bool

    public init(messages: [ParsedMessage], total: Int, hasMore: Bool) {
        self.messages = messages
        self.total = total
        self.hasMore = hasMore
    }
}

/// Claude Code session files read directly, without a database: for showing a session
/// the moment it is written, or for programs that only browse.
///
/// `projectsPath` nil means the Claude Code projects root: `$CLAUDE_PROJECTS_PATH`, else
/// `~/.claude/projects`.
public struct SessionFiles: Sendable, Hashable {
    public let projectsPath: String?

    public init(projectsPath: String? = nil) {
        self.projectsPath = projectsPath
    }

    /// Project directories, most recently active first (at most `limit`; nil: all).
    /// A missing root gives none.
    public func projects(limit: Int? = nil) throws(SessionDBError) -> [FileProject] {
        let function = "session_db_list_file_projects"
        let root = try cText(projectsPath, "projectsPath", function)
        var count: UInt32 = 0
        if let limit {
            guard limit > 0, limit <= Int(UInt32.max) else {
                throw SessionDBError(code: .invalidArgument, message: "limit must be positive (got \(limit))",
                                     function: function)
            }
            count = UInt32(limit)
        }
        try Library.start()
        var array: UnsafeMutablePointer<ProjectInfoArray>?
        let status = withOptionalCString(root) { session_db_list_file_projects($0, count, &array) }
        try check(status, function)
        defer { session_db_free_project_list(array) }
        guard let array else { return [] }
        return elements(array.pointee.data, array.pointee.len) { p in
            FileProject(encodedName: text(p.encoded_name) ?? "", path: text(p.path) ?? "", name: text(p.name) ?? "",
                        sessionCount: Int(p.session_count),
                        lastActive: p.last_active == 0 ? nil : Int64(clamping: p.last_active))
        }
    }

    /// Session files, newest first, of the project whose working directory is
    /// `projectPath` (nil: every project). Subagent sessions are left out.
    public func sessions(projectPath: String? = nil) throws(SessionDBError) -> [SessionMeta] {
        let function = "session_db_list_session_metas"
        let root = try cText(projectsPath, "projectsPath", function)
        let project = try cText(projectPath, "projectPath", function)
        try Library.start()
        var array: UnsafeMutablePointer<SessionMetaArray>?
        let status = withOptionalCString(root) { r in
            withOptionalCString(project) { p in session_db_list_session_metas(r, p, &array) }
        }
        try check(status, function)
        defer { session_db_free_session_meta_list(array) }
        guard let array else { return [] }
        return elements(array.pointee.data, array.pointee.len, Self.meta)
    }

    /// The newest session file of the project at `projectPath`; nil when there is none,
    /// or when `within` is given and the newest is older than that.
    public func latestSession(projectPath: String, within: Duration? = nil) throws(SessionDBError) -> SessionMeta? {
        let function = "session_db_find_latest_session"
        let root = try cText(projectsPath, "projectsPath", function)
        let project = try cText(projectPath, "projectPath", function)
        var seconds: UInt64 = 0
        if let within {
            let whole = within.components.seconds
            guard whole >= 1 else {
                throw SessionDBError(code: .invalidArgument,
                                     message: "within must be at least one second (got \(within))", function: function)
            }
            seconds = UInt64(whole)
        }
        try Library.start()
        var found: UnsafeMutablePointer<SessionMetaC>?
        let status = withOptionalCString(root) { r in
            project.withCString { p in session_db_find_latest_session(r, p, seconds, &found) }
        }
        try check(status, function)
        defer { session_db_free_session_meta(found) }
        return found.map { Self.meta($0.pointee) }
    }

    /// The path of the file of session `sessionID`, or nil when there is none.
    public func sessionPath(sessionID: String) throws(SessionDBError) -> String? {
        let function = "session_db_get_session_path"
        let root = try cText(projectsPath, "projectsPath", function)
        let session = try cText(sessionID, "sessionID", function)
        return try Self.optionalString(function) {
            withOptionalCString(root) { r in session.withCString { session_db_get_session_path(r, $0) } }
        }
    }

    /// The directory name of the project whose working directory is `projectPath`, or
    /// nil when there is none.
    public func encodedDirName(projectPath: String) throws(SessionDBError) -> String? {
        let function = "session_db_get_encoded_dir_name"
        let root = try cText(projectsPath, "projectsPath", function)
        let project = try cText(projectPath, "projectPath", function)
        return try Self.optionalString(function) {
            withOptionalCString(root) { r in project.withCString { session_db_get_encoded_dir_name(r, $0) } }
        }
    }

    /// `projectsPath/encodedDirName/sessionID.jsonl`, without touching the disk. Names
    /// that would leave the projects root ("..", "/", absolute paths) are refused.
    public func computeSessionPath(encodedDirName: String, sessionID: String) throws(SessionDBError) -> String {
        let function = "session_db_compute_session_path"
        let root = try cText(projectsPath, "projectsPath", function)
        let directory = try cText(encodedDirName, "encodedDirName", function)
        let session = try cText(sessionID, "sessionID", function)
        try Library.start()
        let path = withOptionalCString(root) { r in
            directory.withCString { d in session.withCString { session_db_compute_session_path(r, d, $0) } }
        }
        guard let path else {
            throw lastError(status: session_db_last_error_code().rawValue, function: function)
        }
        defer { session_db_free_string(path) }
        return String(cString: path)
    }

    /// Parses one Claude Code session file for indexing; nil when it has no project or
    /// no messages.
    public static func parse(jsonlAt path: String) throws(SessionDBError) -> IndexableSession? {
        let function = "session_db_parse_jsonl"
        let path = try cText(path, "path", function)
        try Library.start()
        let result = path.withCString { session_db_parse_jsonl($0) }
        try check(result.error, function)
        guard let session = result.session else { return nil }
        defer { session_db_free_parse_result(session) }
        let s = session.pointee
        let messages = elements(s.messages.data, s.messages.len) { m in
            IndexableMessage(uuid: text(m.uuid) ?? "", roleName: text(m.role) ?? "", content: text(m.content) ?? "",
                             timestamp: m.timestamp, sequence: m.sequence)
        }
        return IndexableSession(sessionID: text(s.session_id) ?? "", projectPath: text(s.project_path) ?? "",
                                projectName: text(s.project_name) ?? "", messages: messages)
    }

    /// A page of the messages of a session file, read as a stream: skips `offset`, then
    /// up to `limit` (nil: all), oldest first when `ascending`. A missing file gives an
    /// empty page.
    public static func readMessages(at sessionPath: String, limit: Int? = nil, offset: Int = 0,
                                    ascending: Bool = true) throws(SessionDBError) -> MessagesPage {
        let function = "session_db_read_session_messages"
        let path = try cText(sessionPath, "sessionPath", function)
        var count: UInt = 0
        if let limit {
            guard limit > 0 else {
                throw SessionDBError(code: .invalidArgument, message: "limit must be positive (got \(limit))",
                                     function: function)
            }
            count = UInt(limit)
        }
        let skip = try cCount(offset, "offset", function)
        try Library.start()
        var page: UnsafeMutablePointer<MessagesResultC>?
        let status = path.withCString { session_db_read_session_messages($0, count, skip, ascending, &page) }
        try check(status, function)
        defer { session_db_free_messages_result(page) }
        guard let page else { return MessagesPage(messages: [], total: 0, hasMore: false) }
        let messages = elements(page.pointee.messages, page.pointee.message_count) { m in
            ParsedMessage(uuid: text(m.uuid) ?? "", sessionID: text(m.session_id) ?? "",
                          role: MessageRole(rawValue: m.message_type) ?? .system, content: text(m.content) ?? "",
                          timestamp: text(m.timestamp).flatMap { Int64($0) })
        }
        return MessagesPage(messages: messages, total: Int(page.pointee.total), hasMore: page.pointee.has_more)
    }

    private static func meta(_ m: SessionMetaC) -> SessionMeta {
        SessionMeta(id: text(m.id) ?? "", projectPath: text(m.project_path) ?? "", projectName: text(m.project_name),
                    encodedDirName: text(m.encoded_dir_name), sessionPath: text(m.session_path),
                    fileModified: optionalTimestamp(m.file_mtime),
                    messageCount: m.message_count < 0 ? nil : Int(m.message_count))
    }

    /// A string from a function that returns NULL both for "none" and on failure: a
    /// failure is told apart by a new last error on this thread.
    private static func optionalString(_ function: String,
                                       _ call: () -> UnsafeMutablePointer<CChar>?) throws(SessionDBError) -> String? {
        try Library.start()
        let before = LastErrorMark.now()
        guard let pointer = call() else {
            if LastErrorMark.now() != before {
                throw lastError(status: session_db_last_error_code().rawValue, function: function)
            }
            return nil
        }
        defer { session_db_free_string(pointer) }
        return String(cString: pointer)
    }
}
