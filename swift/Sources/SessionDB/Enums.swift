// Small enumerations of the C ABI, with the same integer encodings.

/// The programs that may write the database. Higher priority preempts the writer;
/// equal priority is first come, first served.
public enum WriterType: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case memexDaemon = 0
    case vlaudeDaemon = 1
    case memexKit = 2
    case vlaudeKit = 3

    /// 2 for the app kits, 1 for the daemons.
    public var priority: Int {
        switch self {
        case .memexDaemon, .vlaudeDaemon: 1
        case .memexKit, .vlaudeKit: 2
        }
    }

    /// The name stored in `writer_registry.writer_type` ("memex_daemon", ...).
    public var name: String {
        switch self {
        case .memexDaemon: "memex_daemon"
        case .vlaudeDaemon: "vlaude_daemon"
        case .memexKit: "memex_kit"
        case .vlaudeKit: "vlaude_kit"
        }
    }

    public var description: String { name }
}

/// What a registered handle may do: write, or only read (and watch the writer).
public enum Role: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case writer = 0
    case reader = 1

    public var description: String { self == .writer ? "writer" : "reader" }
}

/// The state of the current writer as a reader sees it.
public enum WriterHealth: Int32, Sendable, Hashable, CaseIterable {
    /// A writer is registered and heartbeating.
    case alive = 0
    /// The writer is gone: its process ended, or its heartbeat stood still too long.
    case timeout = 1
    /// No writer is registered (it released the role).
    case released = 2
}

/// Who a message is from.
public enum MessageRole: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case user = 0
    case assistant = 1
    case tool = 2
    case system = 3

    /// The name the library uses in text ("user", "assistant", "tool", "system").
    public var name: String {
        switch self {
        case .user: "user"
        case .assistant: "assistant"
        case .tool: "tool"
        case .system: "system"
        }
    }

    /// The role named `name`, or nil.
    public init?(name: String) {
        guard let role = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = role
    }

    public var description: String { name }
}

/// The order of search results.
public enum SearchOrder: Int32, Sendable, Hashable, CaseIterable {
    /// Best matches first (BM25).
    case score = 0
    /// Newest messages first.
    case newest = 1
    /// Oldest messages first.
    case oldest = 2
}

/// The approval state of a tool call.
public enum ApprovalStatus: Int32, Sendable, Hashable, CaseIterable {
    case pending = 0
    case approved = 1
    case rejected = 2
    case timeout = 3
}

/// SQLite WAL checkpoint modes.
public enum CheckpointMode: Int32, Sendable, Hashable, CaseIterable {
    case passive = 0
    case full = 1
    case restart = 2
    /// Also shrinks the WAL file when no reader uses it.
    case truncate = 3
}
