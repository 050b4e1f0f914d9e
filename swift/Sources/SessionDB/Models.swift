// Value types for what the database stores and returns. Timestamps are Unix epoch
// milliseconds, as in the database; `Date` views are in Timestamps.swift.

/// A project: one working directory of one agent CLI.
public struct Project: Sendable, Hashable, Identifiable {
    public let id: Int64
    public let name: String
    public let path: String
    /// The agent CLI it comes from ("claude", "codex", "opencode", "gemini").
    public let source: String
    public let createdAt: Int64
    public let updatedAt: Int64

    public init(id: Int64, name: String, path: String, source: String, createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.name = name
        self.path = path
        self.source = source
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A session of a project.
public struct Session: Sendable, Hashable, Identifiable {
    /// The row id.
    public let id: Int64
    /// The agent CLI's session id.
    public let sessionID: String
    public let projectID: Int64
    public let messageCount: Int64
    /// Time of the newest message collected (the scan checkpoint), if any.
    public let lastMessageAt: Int64?
    public let createdAt: Int64
    public let updatedAt: Int64

    public init(id: Int64, sessionID: String, projectID: Int64, messageCount: Int64, lastMessageAt: Int64?,
                createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.sessionID = sessionID
        self.projectID = projectID
        self.messageCount = messageCount
        self.lastMessageAt = lastMessageAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A stored message.
public struct Message: Sendable, Hashable, Identifiable {
    public let id: Int64
    public let sessionID: String
    public let uuid: String
    public let role: MessageRole
    /// The full text (conversation text plus tool calls and results).
    public let content: String
    public let timestamp: Int64
    /// Position in the session.
    public let sequence: Int64
    /// The source line as collected, when kept.
    public let raw: String?

    public init(id: Int64, sessionID: String, uuid: String, role: MessageRole, content: String, timestamp: Int64,
                sequence: Int64, raw: String?) {
        self.id = id
        self.sessionID = sessionID
        self.uuid = uuid
        self.role = role
        self.content = content
        self.timestamp = timestamp
        self.sequence = sequence
        self.raw = raw
    }
}

/// A message to insert. Messages are deduplicated by `uuid`.
public struct MessageInput: Sendable, Hashable {
    public var uuid: String
    public var role: MessageRole
    public var content: String
    public var timestamp: Int64
    public var sequence: Int64

    public init(uuid: String, role: MessageRole, content: String, timestamp: Int64, sequence: Int64) {
        self.uuid = uuid
        self.role = role
        self.content = content
        self.timestamp = timestamp
        self.sequence = sequence
    }
}

/// A search hit.
public struct SearchResult: Sendable, Hashable {
    public let messageID: Int64
    public let sessionID: String
    public let projectID: Int64
    public let projectName: String
    /// The message's role as the library names it ("user", "assistant", ...).
    public let roleName: String
    /// The full text of the message.
    public let content: String
    /// An excerpt around the matches, with the highlight markers of the search.
    public let snippet: String
    /// BM25 score (lower is better); 0 in the time orders.
    public let score: Double
    public let timestamp: Int64?

    /// The message's role, when it is one of the known roles.
    public var role: MessageRole? { MessageRole(name: roleName) }

    public init(messageID: Int64, sessionID: String, projectID: Int64, projectName: String, roleName: String,
                content: String, snippet: String, score: Double, timestamp: Int64?) {
        self.messageID = messageID
        self.sessionID = sessionID
        self.projectID = projectID
        self.projectName = projectName
        self.roleName = roleName
        self.content = content
        self.snippet = snippet
        self.score = score
        self.timestamp = timestamp
    }
}

/// Row counts, from one consistent snapshot.
public struct DatabaseStats: Sendable, Hashable {
    public let projects: Int64
    public let sessions: Int64
    public let messages: Int64

    public init(projects: Int64, sessions: Int64, messages: Int64) {
        self.projects = projects
        self.sessions = sessions
        self.messages = messages
    }
}

/// What a collection run did.
public struct CollectResult: Sendable, Hashable {
    public let projectsScanned: Int
    public let sessionsScanned: Int
    public let messagesInserted: Int
    /// How many errors the run met (unreadable files, bad lines, ...).
    public let errorCount: Int
    /// The first of those errors.
    public let firstError: String?

    public init(projectsScanned: Int, sessionsScanned: Int, messagesInserted: Int, errorCount: Int,
                firstError: String?) {
        self.projectsScanned = projectsScanned
        self.sessionsScanned = sessionsScanned
        self.messagesInserted = messagesInserted
        self.errorCount = errorCount
        self.firstError = firstError
    }
}

/// The outcome of an integrity check.
public struct IntegrityReport: Sendable, Hashable {
    /// True when SQLite found nothing wrong.
    public let isOK: Bool
    /// "ok", or the problems found.
    public let report: String

    public init(isOK: Bool, report: String) {
        self.isOK = isOK
        self.report = report
    }
}

/// The outcome of a WAL checkpoint.
public struct CheckpointResult: Sendable, Hashable {
    /// Frames in the WAL file.
    public let walFrames: Int64
    /// Frames copied back into the database.
    public let checkpointedFrames: Int64

    public init(walFrames: Int64, checkpointedFrames: Int64) {
        self.walFrames = walFrames
        self.checkpointedFrames = checkpointedFrames
    }
}
