import Foundation
import Testing
@testable import SessionDB

@Suite("Session files read without a database")
struct SessionFilesTests {
    /// A Claude Code projects root with two projects:
    /// /work/demo-app (sess-new: 4 messages, sess-old: 2, plus a subagent file) and
    /// /work/other (sess-other: 2).
    final class Fixture {
        let scratch = Scratch()
        let root: URL
        let files: SessionFiles
        let newPath: String
        let oldPath: String
        let otherPath: String
        let start = Date(timeIntervalSince1970: 1_760_000_000)

        init() throws {
            root = scratch.url.appendingPathComponent("projects")
            files = SessionFiles(projectsPath: root.path)
            newPath = try writeClaudeSession(root: root, cwd: "/work/demo-app", session: "sess-new",
                                             texts: ["first question", "first answer", "第二个问题", "second answer"],
                                             start: start)
            oldPath = try writeClaudeSession(root: root, cwd: "/work/demo-app", session: "sess-old",
                                             texts: ["old question", "old answer"], start: start)
            otherPath = try writeClaudeSession(root: root, cwd: "/work/other", session: "sess-other",
                                               texts: ["other question", "other answer"], start: start)
            let agent = try writeClaudeSession(root: root, cwd: "/work/demo-app", session: "agent-a1b2",
                                               texts: ["subagent task", "subagent result"], start: start)
            let now = Date()
            try setModified(newPath, to: now.addingTimeInterval(-10))
            try setModified(agent, to: now.addingTimeInterval(-5))
            try setModified(oldPath, to: now.addingTimeInterval(-3 * 86_400))
            try setModified(otherPath, to: now.addingTimeInterval(-5 * 86_400))
        }
    }

    @Test func parseJSONLForIndexing() throws {
        let fixture = try Fixture()
        let session = try #require(try SessionFiles.parse(jsonlAt: fixture.newPath))
        #expect(session.sessionID == "sess-new")
        #expect(session.projectPath == "/work/demo-app")
        #expect(session.projectName == "demo-app")
        #expect(session.messages.map(\.uuid) == (0..<4).map { "sess-new-m\($0)" })
        #expect(session.messages.map(\.content) == ["first question", "first answer", "第二个问题", "second answer"])
        #expect(session.messages.map(\.role) == [.user, .assistant, .user, .assistant])
        #expect(session.messages.map(\.roleName) == ["user", "assistant", "user", "assistant"])
        #expect(session.messages.map(\.sequence) == [0, 1, 2, 3])
        let base = fixture.start.epochMilliseconds
        #expect(session.messages.map(\.timestamp) == [base, base + 1000, base + 2000, base + 3000])
    }

    @Test func parseGivesNilForAFileWithoutMessages() throws {
        let scratch = Scratch()
        let empty = scratch.path("empty.jsonl")
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        #expect(try SessionFiles.parse(jsonlAt: empty) == nil)
        let summaryOnly = scratch.path("summary.jsonl")
        try #"{"type":"summary","summary":"nothing else","leafUuid":"x"}"#.write(toFile: summaryOnly,
                                                                                atomically: true, encoding: .utf8)
        #expect(try SessionFiles.parse(jsonlAt: summaryOnly) == nil)
    }

    @Test func parseOfAMissingFileFailsWithMessage() throws {
        let scratch = Scratch()
        let error = try #require(caught { _ = try SessionFiles.parse(jsonlAt: scratch.path("missing.jsonl")) })
        #expect(error.code == .databaseError)
        #expect(error.function == "session_db_parse_jsonl")
        #expect(!error.message.isEmpty)
    }

    @Test func parseKeepsGoodLinesAroundABadOne() throws {
        let scratch = Scratch()
        let root = scratch.url.appendingPathComponent("projects")
        let path = try writeClaudeSession(root: root, cwd: "/work/bad", session: "s-bad", texts: ["one", "two"])
        try appendLines(["{not json", claudeLine(type: "user", uuid: "s-bad-m9", session: "s-bad", cwd: "/work/bad",
                                                 time: "2025-10-09T08:00:00.000Z", text: "after the bad line")],
                        to: path)
        let session = try #require(try SessionFiles.parse(jsonlAt: path))
        #expect(session.messages.map(\.content) == ["one", "two", "after the bad line"])
    }

    @Test func listFileProjects() throws {
        let fixture = try Fixture()
        let projects = try fixture.files.projects()
        #expect(projects.map(\.path) == ["/work/demo-app", "/work/other"])   // most recently active first
        let demo = projects[0]
        #expect(demo.encodedName == "-work-demo-app")
        #expect(demo.name == "demo-app")
        #expect(demo.sessionCount == 2)   // the subagent file is not a session of its own
        let lastActive = try #require(demo.lastActive)
        #expect(abs(lastActive - Date().addingTimeInterval(-5).epochMilliseconds) < 60_000)
        #expect(projects[1].sessionCount == 1)
        #expect(try fixture.files.projects(limit: 1).map(\.path) == ["/work/demo-app"])
        #expect(try SessionFiles(projectsPath: fixture.scratch.path("nowhere")).projects().isEmpty)
        #expect(caught { _ = try fixture.files.projects(limit: 0) }?.code == .invalidArgument)
    }

    @Test func listSessionMetas() throws {
        let fixture = try Fixture()
        let all = try fixture.files.sessions()
        #expect(all.map(\.id) == ["sess-new", "sess-old", "sess-other"])   // newest first, no subagents
        let demo = try fixture.files.sessions(projectPath: "/work/demo-app")
        #expect(demo.map(\.id) == ["sess-new", "sess-old"])
        let newest = demo[0]
        #expect(newest.projectPath == "/work/demo-app")
        #expect(newest.projectName == "demo-app")
        #expect(newest.encodedDirName == "-work-demo-app")
        #expect(newest.sessionPath == fixture.newPath)
        #expect(newest.messageCount == 4)
        let modified = try #require(newest.fileModified)
        #expect(abs(modified - Date().addingTimeInterval(-10).epochMilliseconds) < 60_000)
        #expect(try fixture.files.sessions(projectPath: "/work/unknown").isEmpty)
    }

    @Test func findLatestSession() throws {
        let fixture = try Fixture()
        #expect(try fixture.files.latestSession(projectPath: "/work/demo-app")?.id == "sess-new")
        #expect(try fixture.files.latestSession(projectPath: "/work/demo-app", within: .seconds(3600))?.id
            == "sess-new")
        #expect(try fixture.files.latestSession(projectPath: "/work/other")?.id == "sess-other")
        #expect(try fixture.files.latestSession(projectPath: "/work/other", within: .seconds(3600)) == nil)
        #expect(try fixture.files.latestSession(projectPath: "/work/unknown") == nil)
    }

    @Test func readSessionMessagesInPages() throws {
        let fixture = try Fixture()
        let all = try SessionFiles.readMessages(at: fixture.newPath)
        #expect(all.total == 4)
        #expect(!all.hasMore)
        #expect(all.messages.map(\.uuid) == (0..<4).map { "sess-new-m\($0)" })
        #expect(all.messages.map(\.role) == [.user, .assistant, .user, .assistant])
        #expect(all.messages[2].content == "第二个问题")
        #expect(all.messages.allSatisfy { $0.sessionID == "sess-new" })
        #expect(all.messages[1].timestamp == fixture.start.epochMilliseconds + 1000)

        let page = try SessionFiles.readMessages(at: fixture.newPath, limit: 2, offset: 1)
        #expect(page.messages.map(\.uuid) == ["sess-new-m1", "sess-new-m2"])
        #expect(page.total == 4)
        #expect(page.hasMore)
        let newestFirst = try SessionFiles.readMessages(at: fixture.newPath, limit: 1, ascending: false)
        #expect(newestFirst.messages.map(\.uuid) == ["sess-new-m3"])
        #expect(newestFirst.hasMore)
        let missing = try SessionFiles.readMessages(at: fixture.scratch.path("missing.jsonl"))
        #expect(missing.messages.isEmpty && missing.total == 0 && !missing.hasMore)
        #expect(caught { _ = try SessionFiles.readMessages(at: fixture.newPath, offset: -1) }?.code
            == .invalidArgument)
    }

    @Test func sessionPathAndEncodedDirectory() throws {
        let fixture = try Fixture()
        #expect(try fixture.files.sessionPath(sessionID: "sess-old") == fixture.oldPath)
        #expect(try fixture.files.sessionPath(sessionID: "sess-missing") == nil)
        #expect(try fixture.files.encodedDirName(projectPath: "/work/other") == "-work-other")
        #expect(try fixture.files.encodedDirName(projectPath: "/work/unknown") == nil)
    }

    @Test func computeSessionPathRefusesTraversal() throws {
        let fixture = try Fixture()
        #expect(try fixture.files.computeSessionPath(encodedDirName: "-work-demo-app", sessionID: "abc")
            == fixture.root.appendingPathComponent("-work-demo-app/abc.jsonl").path)
        for (directory, session) in [("..", "abc"), ("-work", "../../etc/passwd"), ("/etc", "x"), ("a/b", "c")] {
            let error = try #require(caught {
                _ = try fixture.files.computeSessionPath(encodedDirName: directory, sessionID: session)
            })
            #expect(error.function == "session_db_compute_session_path")
            #expect(!error.message.isEmpty)
        }
    }

    @Test func defaultRootIsTheClaudeProjectsDirectory() throws {
        _ = TestEnvironment.home
        #expect(try SessionFiles().computeSessionPath(encodedDirName: "-a", sessionID: "b")
            == TestEnvironment.claudeProjects.appendingPathComponent("-a/b.jsonl").path)
    }
}
