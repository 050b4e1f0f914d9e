import Foundation
import Testing
@testable import SessionDB

/// Collection reads the agent CLIs' default roots, which the test environment points into
/// its temporary home; these tests share that root, so they run one at a time.
@Suite("Collecting session files into the database", .serialized)
struct CollectionTests {
    /// An assistant line that calls a tool.
    static func toolUseLine(uuid: String, session: String, cwd: String, toolCallID: String) -> String {
        let object: [String: Any] = [
            "type": "assistant", "uuid": uuid, "sessionId": session, "cwd": cwd,
            "timestamp": "2025-10-09T08:00:05.000Z",
            "message": ["role": "assistant", "content": [
                ["type": "text", "text": "running the tests"],
                ["type": "tool_use", "id": toolCallID, "name": "Bash", "input": ["command": "swift test"]],
            ]],
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    @Test func collectByPathIsIncremental() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        #expect(try db.registerWriter(.memexDaemon) == .writer)
        let cwd = "/work/collect-by-path"
        let path = try writeClaudeSession(root: TestEnvironment.claudeProjects, cwd: cwd, session: "cbp-1",
                                          texts: ["how do I watch files", "use the watcher", "灵活的采集"])

        let first = try db.collect(path: path)
        #expect(first.messagesInserted == 3)
        #expect(first.sessionsScanned == 1)
        #expect(first.projectsScanned == 1)
        #expect(first.errorCount == 0)
        #expect(first.firstError == nil)
        #expect(try db.messages(sessionID: "cbp-1").map(\.content)
            == ["how do I watch files", "use the watcher", "灵活的采集"])
        let project = try #require(try db.projects().first { $0.path == cwd })
        #expect(project.name == "collect-by-path")
        #expect(project.source == "claude")
        #expect(try db.search("采集").map(\.sessionID) == ["cbp-1"])

        // Nothing changed: nothing is written.
        #expect(try db.collect(path: path).messagesInserted == 0)

        // A line appended by the running CLI is picked up alone.
        try appendLines([Self.toolUseLine(uuid: "cbp-1-tool", session: "cbp-1", cwd: cwd,
                                          toolCallID: "toolu_swift_1")], to: path)
        #expect(try db.collect(path: path).messagesInserted == 1)
        #expect(try db.messages(sessionID: "cbp-1").count == 4)
        #expect(try db.updateApprovalStatus(toolCallID: "toolu_swift_1", status: .approved,
                                            resolvedAt: 1_760_000_009_000) == 1)

        // A file outside every root is not a session file: nothing to collect.
        let stray = scratch.path("stray.jsonl")
        try "{}\n".write(toFile: stray, atomically: true, encoding: .utf8)
        #expect(try db.collect(path: stray).messagesInserted == 0)
    }

    @Test func badLinesAreCountedAndTheRestKept() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        try db.registerWriter(.memexDaemon)
        let path = try writeClaudeSession(root: TestEnvironment.claudeProjects, cwd: "/work/bad-lines",
                                          session: "bad-1", texts: ["good one", "good two"])
        try appendLines(["{this is not json", claudeLine(type: "user", uuid: "bad-1-m9", session: "bad-1",
                                                         cwd: "/work/bad-lines", time: "2025-10-09T08:00:00.000Z",
                                                         text: "good three")], to: path)
        let result = try db.collect(path: path)
        #expect(result.messagesInserted == 3)
        #expect(result.errorCount >= 1)
        #expect(result.firstError?.isEmpty == false)
    }

    @Test func onlyTheWriterCollects() throws {
        let scratch = Scratch()
        let writer = try scratch.database()
        let reader = try scratch.database()
        let unregistered = try scratch.database()
        try writer.registerWriter(.memexKit)
        try reader.registerWriter(.memexDaemon)
        let path = try writeClaudeSession(root: TestEnvironment.claudeProjects, cwd: "/work/only-writer",
                                          session: "ow-1", texts: ["a", "b"])
        for db in [reader, unregistered] {
            let error = try #require(caught { _ = try db.collect(path: path) })
            #expect(error.code == .permissionDenied)
            #expect(!error.message.isEmpty)
            #expect(caught { _ = try db.collect() }?.code == .permissionDenied)
        }
        #expect(try writer.stats().messages == 0)
    }

    @Test func collectAllThenAWarmRescanWritesNothing() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        try db.registerWriter(.vlaudeDaemon)
        try writeClaudeSession(root: TestEnvironment.claudeProjects, cwd: "/work/collect-all", session: "all-1",
                               texts: ["one", "two", "three"])
        try writeClaudeSession(root: TestEnvironment.claudeProjects, cwd: "/work/collect-all-2", session: "all-2",
                               texts: ["four", "five"])
        let cold = try db.collect()
        #expect(cold.messagesInserted >= 5)
        #expect(cold.sessionsScanned >= 2)
        #expect(cold.projectsScanned >= 2)
        #expect(try db.messages(sessionID: "all-1").count == 3)
        #expect(try db.messages(sessionID: "all-2").count == 2)
        let stored = try db.stats().messages
        let warm = try db.collect()
        #expect(warm.messagesInserted == 0)
        #expect(try db.stats().messages == stored)
    }

    @Test func registerWriterAndCollect() throws {
        let scratch = Scratch()
        try writeClaudeSession(root: TestEnvironment.claudeProjects, cwd: "/work/register-collect",
                               session: "rc-1", texts: ["hello", "world"])
        let a = try scratch.database()
        let b = try scratch.database()
        let (role, result) = try a.registerWriterAndCollect(.memexKit)
        #expect(role == .writer)
        let collected = try #require(result)
        #expect(collected.messagesInserted >= 2)
        #expect(try a.messages(sessionID: "rc-1").count == 2)
        let (second, none) = try b.registerWriterAndCollect(.memexDaemon)
        #expect(second == .reader)
        #expect(none == nil)
    }
}
