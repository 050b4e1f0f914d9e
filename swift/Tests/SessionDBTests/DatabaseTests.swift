import Foundation
import Testing
@testable import SessionDB

@Suite("Database: projects, sessions, messages, maintenance")
struct DatabaseTests {
    @Test func libraryReportsItsVersions() throws {
        _ = TestEnvironment.home
        #expect(Library.version == "0.1.0")
        #expect(Library.pythonVersion.split(separator: ".").count >= 2)
    }

    @Test func newDatabaseIsEmptyAndSound() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        #expect(try db.stats() == DatabaseStats(projects: 0, sessions: 0, messages: 0))
        #expect(FileManager.default.fileExists(atPath: scratch.databasePath))
        let report = try db.integrityCheck()
        #expect(report.isOK)
        #expect(report.report == "ok")
        #expect(try db.integrityCheck(quick: true).isOK)
    }

    @Test func defaultPathComesFromTheEnvironment() throws {
        _ = TestEnvironment.home
        let db = try SessionDatabase()
        #expect(db.path == nil)
        let expected = TestEnvironment.home.appendingPathComponent("default/sessions.db").path
        #expect(FileManager.default.fileExists(atPath: expected))
        _ = try db.stats()
    }

    @Test func projectsAreUpsertedByPath() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        let first = try db.upsertProject(name: "demo", path: "/work/demo", source: "claude")
        let again = try db.upsertProject(name: "renamed", path: "/work/demo", source: "codex")
        let other = try db.upsertProject(name: "其他", path: "/work/其他", source: "codex")
        #expect(first == again)
        #expect(first != other)
        let projects = try db.projects()
        #expect(projects.count == 2)
        let demo = try #require(projects.first { $0.id == first })
        #expect(demo.name == "demo")   // an existing project keeps its name and source
        #expect(demo.source == "claude")
        #expect(demo.path == "/work/demo")
        #expect(demo.createdAt > 0 && demo.updatedAt >= demo.createdAt)
        #expect(projects.contains { $0.name == "其他" && $0.path == "/work/其他" })
    }

    @Test func sessionsBelongToTheirProject() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        let a = try db.upsertProject(name: "a", path: "/a", source: "claude")
        let b = try db.upsertProject(name: "b", path: "/b", source: "claude")
        try db.upsertSession("s-a1", projectID: a)
        try db.upsertSession("s-a2", projectID: a)
        try db.upsertSession("s-b1", projectID: b)
        try db.upsertSession("s-a1", projectID: b)   // an existing session keeps its project
        let ofA = try db.sessions(projectID: a)
        #expect(Set(ofA.map(\.sessionID)) == ["s-a1", "s-a2"])
        #expect(ofA.allSatisfy { $0.projectID == a && $0.messageCount == 0 && $0.lastMessageAt == nil })
        #expect(try db.sessions(projectID: b).map(\.sessionID) == ["s-b1"])
        #expect(try db.sessions(projectID: 9999).isEmpty)
        #expect(try db.stats() == DatabaseStats(projects: 2, sessions: 3, messages: 0))
    }

    @Test func scanCheckpointRoundTrips() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        try seedSession(db, session: "s1")
        #expect(try db.scanCheckpoint(sessionID: "s1") == nil)
        try db.setScanCheckpoint(sessionID: "s1", timestamp: 1_760_000_123_456)
        #expect(try db.scanCheckpoint(sessionID: "s1") == 1_760_000_123_456)
        #expect(try db.scanCheckpoint(sessionID: "unknown") == nil)
        try db.setScanCheckpoint(sessionID: "unknown", timestamp: 5)   // no session: nothing to do, no error
    }

    @Test func messagesAreInsertedOnceAndPaged() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        try seedSession(db, session: "s1")
        let batch = (0..<25).map { i in
            message("m\(i)", i % 2 == 0 ? .user : .assistant, "message number \(i) 😀 ünïcödé",
                    at: 1_760_000_000_000 + Int64(i) * 1000, sequence: Int64(i))
        }
        #expect(try db.insertMessages(batch, into: "s1") == 25)
        #expect(try db.insertMessages(Array(batch[20...]) + [message("m25", .tool, "tool output", sequence: 25)],
                                      into: "s1") == 1)
        #expect(try db.insertMessages([], into: "s1") == 0)

        let all = try db.messages(sessionID: "s1")
        #expect(all.count == 26)
        #expect(all.map(\.sequence) == (0...25).map(Int64.init))
        #expect(all[3].uuid == "m3")
        #expect(all[3].role == .assistant)
        #expect(all[3].content == "message number 3 😀 ünïcödé")
        #expect(all[3].timestamp == 1_760_000_003_000)
        #expect(all[3].sessionID == "s1")
        #expect(all[25].role == .tool)
        #expect(all[3].date == Date(timeIntervalSince1970: 1_760_000_003))

        let page = try db.messages(sessionID: "s1", limit: 10, offset: 20)
        #expect(page.map(\.uuid) == (20...25).map { "m\($0)" })
        #expect(try db.messages(sessionID: "s1", limit: 0).isEmpty)
        #expect(try db.messages(sessionID: "s1", offset: 100).isEmpty)
        #expect(try db.messages(sessionID: "no-such-session").isEmpty)

        let session = try #require(try db.sessions(projectID: db.projects()[0].id).first)
        #expect(session.messageCount == 26)
        #expect(session.lastMessageAt == 1_760_000_024_000)
        #expect(try db.stats().messages == 26)
    }

    @Test func insertIntoUnknownSessionFailsWithMessageAndWritesNothing() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        let error = try #require(caught { try db.insertMessages([message("x", "hello")], into: "missing") })
        #expect(error.code == .databaseError)
        #expect(error.function == "session_db_insert_messages")
        #expect(error.message.contains("missing"))
        #expect(try db.stats().messages == 0)
    }

    @Test func textWithNULIsRefusedBeforeTheLibrary() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        try seedSession(db, session: "s1")
        let error = try #require(caught { try db.insertMessages([message("a\0b", "hi")], into: "s1") })
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("NUL"))
        #expect(try db.stats().messages == 0)
        #expect(caught { _ = try db.upsertProject(name: "x", path: "/x\0y", source: "claude") }?.code
            == .invalidArgument)
    }

    @Test func approvalStatusIsSetByToolCallID() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        try seedSession(db, session: "s1")
        try db.insertMessages([message("m1", .assistant, "[Tool: Bash] {\"command\":\"ls\"}")], into: "s1")
        // No message carries this tool call yet: nothing changes, and that is not an error.
        #expect(try db.updateApprovalStatus(toolCallID: "toolu_01", status: .approved,
                                            resolvedAt: 1_760_000_000_500) == 0)
        for status in ApprovalStatus.allCases {
            _ = try db.updateApprovalStatus(toolCallID: "toolu_02", status: status, resolvedAt: 1)
        }
    }

    @Test func checkpointReportsFrames() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        try seedSession(db, session: "s1")
        try db.insertMessages((0..<50).map { message("m\($0)", "row \($0)", sequence: Int64($0)) }, into: "s1")
        let passive = try db.checkpoint()
        #expect(passive.walFrames >= passive.checkpointedFrames)
        let truncated = try db.checkpoint(.truncate)
        #expect(truncated.walFrames == 0)
        #expect(try db.stats().messages == 50)
    }

    @Test func readOnlyConnectionReadsButRefusesWrites() throws {
        let scratch = Scratch()
        let writer = try scratch.database()
        try seedSession(writer, session: "s1")
        try writer.insertMessages([message("m1", "visible to readers")], into: "s1")
        let reader = try scratch.database(options: ConnectionOptions(readOnly: true))
        #expect(try reader.stats().messages == 1)
        #expect(try reader.search("visible").count == 1)
        let error = try #require(caught { _ = try reader.upsertProject(name: "x", path: "/x", source: "claude") })
        #expect(error.code == .permissionDenied)
        #expect(!error.message.isEmpty)
    }

    @Test func closedConnectionThrowsNullPointer() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        db.close()
        db.close()   // twice is harmless
        let error = try #require(caught { _ = try db.stats() })
        #expect(error.code == .nullPointer)
        #expect(error.status == 1)
        #expect(!error.message.isEmpty)
        #expect(error.description.contains("session_db_get_stats"))
    }

    @Test func unopenableDatabaseThrowsDatabaseError() throws {
        let scratch = Scratch()
        let blocker = scratch.path("file")
        try "not a directory".write(toFile: blocker, atomically: true, encoding: .utf8)
        do {
            _ = try SessionDatabase(path: blocker + "/sessions.db")
            Issue.record("opening a database under a regular file succeeded")
        } catch {
            #expect(error.code == .databaseError)
            #expect(!error.message.isEmpty)
        }
    }

    @Test func invalidTimingsAreRefused() throws {
        let scratch = Scratch()
        let bad = [CoordinationTimings(heartbeatInterval: .zero), CoordinationTimings(timeout: .milliseconds(-5)),
                   CoordinationTimings(confirmCount: 0)]
        for timings in bad {
            #expect(throws: SessionDBError.self) {
                try scratch.database(options: ConnectionOptions(coordination: timings))
            }
        }
    }

    @Test func oneConnectionIsSharedByManyTasks() async throws {
        let scratch = Scratch()
        let db = try scratch.database()
        try seedSession(db, session: "s1")
        try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var inserted = 0
                    for round in 0..<10 {
                        inserted += try db.insertMessages(
                            [message("w\(worker)-\(round)", "worker \(worker) round \(round)",
                                     sequence: Int64(worker * 100 + round))], into: "s1")
                        _ = try db.stats()
                        _ = try db.search("worker")
                    }
                    return inserted
                }
            }
            var total = 0
            for try await inserted in group { total += inserted }
            #expect(total == 80)
        }
        #expect(try db.stats().messages == 80)
        #expect(try db.integrityCheck().isOK)
    }

    @Test func twoConnectionsSeeEachOthersWrites() throws {
        let scratch = Scratch()
        let a = try scratch.database()
        let b = try scratch.database()
        try seedSession(a, session: "s1")
        try a.insertMessages([message("m1", "from a")], into: "s1")
        #expect(try b.messages(sessionID: "s1").map(\.content) == ["from a"])
    }
}
