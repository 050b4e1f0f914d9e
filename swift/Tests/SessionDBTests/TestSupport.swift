import Foundation
import Testing
@testable import SessionDB

/// The process-wide test environment, set up before the library's first call.
///
/// The library reads its environment once, when it starts, so everything that decides
/// where it looks (HOME, the agent CLIs' roots, the default database) is pointed into a
/// fresh temporary home first. A developer's real files are never touched.
enum TestEnvironment {
    static let home: URL = {
        let home = FileManager.default.temporaryDirectory
            .appendingPathComponent("sessiondb-swift-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        setenv("HOME", home.path, 1)
        setenv("CLAUDE_PROJECTS_PATH", home.appendingPathComponent(".claude/projects").path, 1)
        setenv("CODEX_PATH", home.appendingPathComponent(".codex").path, 1)
        setenv("OPENCODE_PATH", home.appendingPathComponent(".local/share/opencode").path, 1)
        setenv("GEMINI_TMP_PATH", home.appendingPathComponent(".gemini/tmp").path, 1)
        setenv("CLAUDE_SESSION_DB_URL", home.appendingPathComponent("default/sessions.db").path, 1)
        for name in ["CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_DATA_HOME", "GEMINI_CLI_HOME"] {
            unsetenv(name)
        }
        do {
            try Library.start()
        } catch {
            fatalError("libsessiondb did not start: \(error)")
        }
        return home
    }()

    /// The Claude Code projects root the library collects from.
    static var claudeProjects: URL { home.appendingPathComponent(".claude/projects") }
}

/// A temporary directory removed when the test ends.
final class Scratch {
    let url: URL

    init() {
        _ = TestEnvironment.home
        url = FileManager.default.temporaryDirectory.appendingPathComponent("sessiondb-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    var databasePath: String { url.appendingPathComponent("sessions.db").path }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// A fresh database in this directory.
    func database(_ name: String = "sessions.db", options: ConnectionOptions = ConnectionOptions()) throws
        -> SessionDatabase
    {
        try SessionDatabase(path: path(name), options: options)
    }
}

/// Short coordination timings so stale-heartbeat takeovers happen within seconds. The
/// timeout is 15 heartbeats, so a live writer on a busy machine is not mistaken for a dead one.
let quickTimings = CoordinationTimings(heartbeatInterval: .milliseconds(100), timeout: .milliseconds(1500),
                                       confirmCount: 2)

/// A project with one session, ready for messages.
@discardableResult
func seedSession(_ db: SessionDatabase, session: String = "session-1", project: String = "/work/demo",
                 source: String = "claude") throws -> Int64 {
    let projectID = try db.upsertProject(name: (project as NSString).lastPathComponent, path: project,
                                         source: source)
    try db.upsertSession(session, projectID: projectID)
    return projectID
}

func message(_ uuid: String, _ content: String, at timestamp: Int64 = 1_760_000_000_000,
             sequence: Int64 = 0) -> MessageInput {
    MessageInput(uuid: uuid, role: .user, content: content, timestamp: timestamp, sequence: sequence)
}

func message(_ uuid: String, _ role: MessageRole, _ content: String, at timestamp: Int64 = 1_760_000_000_000,
             sequence: Int64 = 0) -> MessageInput {
    MessageInput(uuid: uuid, role: role, content: content, timestamp: timestamp, sequence: sequence)
}

/// The SessionDBError `body` throws; records an issue when it throws none (or another error).
func caught(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> SessionDBError? {
    do {
        try body()
        Issue.record("expected a SessionDBError, nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as SessionDBError {
        return error
    } catch {
        Issue.record("expected a SessionDBError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

// MARK: - Claude Code session files

/// One line of a Claude Code transcript.
func claudeLine(type: String, uuid: String, session: String, cwd: String, time: String, text: String) -> String {
    let content: Any = type == "user" ? text : [["type": "text", "text": text]]
    let object: [String: Any] = [
        "type": type, "uuid": uuid, "sessionId": session, "cwd": cwd, "timestamp": time,
        "message": ["role": type, "content": content],
    ]
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// The directory name Claude Code gives a working directory.
func encodedName(_ projectPath: String) -> String {
    String(projectPath.unicodeScalars.map { scalar -> Character in
        scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar)) ? Character(scalar) : "-"
    })
}

/// Writes `root/<encoded cwd>/<session>.jsonl` with alternating user and assistant
/// lines, one second apart from `start`; returns its path.
@discardableResult
func writeClaudeSession(root: URL, cwd: String, session: String, texts: [String],
                        start: Date = Date(timeIntervalSince1970: 1_760_000_000)) throws -> String {
    let directory = root.appendingPathComponent(encodedName(cwd))
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    let lines = texts.enumerated().map { index, text in
        claudeLine(type: index % 2 == 0 ? "user" : "assistant", uuid: "\(session)-m\(index)", session: session,
                   cwd: cwd, time: formatter.string(from: start.addingTimeInterval(Double(index))), text: text)
    }
    let file = directory.appendingPathComponent("\(session).jsonl")
    try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
    return file.path
}

/// Appends lines to a session file (as a running CLI does).
func appendLines(_ lines: [String], to path: String) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
}

/// Sets a file's modification time.
func setModified(_ path: String, to date: Date) throws {
    try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
}
