// Usage: LeakCheck <empty directory> [rounds]
//
// Calls every SessionDB API that receives memory from the library (and the error paths)
// `rounds` times, so a missing free shows as a definite leak under valgrind.
import Foundation
import SessionDB

let directory = URL(fileURLWithPath: CommandLine.arguments[1])
let rounds = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 20 : 20

// A Claude Code projects root with one session, set before the library's first call.
let root = directory.appendingPathComponent("projects")
let sessionFile = root.appendingPathComponent("-work-leak/s1.jsonl")
try FileManager.default.createDirectory(at: sessionFile.deletingLastPathComponent(), withIntermediateDirectories: true)
try (#"{"type":"user","uuid":"u1","cwd":"/work/leak","timestamp":"2026-01-01T10:00:00.000Z","message":{"role":"user","content":"hello 数据库"}}"#
    + "\n" + #"{"type":"assistant","uuid":"a1","cwd":"/work/leak","timestamp":"2026-01-01T10:00:01.000Z","requestId":"req_1","message":{"id":"msg_1","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":3,"output_tokens":5}}}"#
    + "\n").write(to: sessionFile, atomically: true, encoding: .utf8)
setenv("HOME", directory.path, 1)
setenv("CLAUDE_PROJECTS_PATH", root.path, 1)

let path = directory.appendingPathComponent("leak.db").path
let db = try SessionDatabase(path: path)
let other = try SessionDatabase(path: path)
let files = SessionFiles(projectsPath: root.path)
_ = try db.registerWriter(.memexKit)
_ = try other.registerWriter(.memexDaemon)
let project = try db.upsertProject(name: "leak", path: "/work/leak", source: "claude")
try db.upsertSession("s1", projectID: project)
for i in 0..<rounds {
    _ = try db.insertMessages([MessageInput(uuid: "m\(i)", role: .assistant, content: "数据库 round \(i) database",
                                            timestamp: 1_760_000_000_000 + Int64(i), sequence: Int64(i))],
                              into: "s1")
    _ = try db.stats()
    _ = try db.projects()
    _ = try db.sessions(projectID: project)
    _ = try db.messages(sessionID: "s1", limit: 5)
    _ = try db.search(SearchQuery("数据库 database", limit: 5, source: "claude", role: .assistant, sessionPrefix: "s",
                                  highlightOpen: "[", highlightClose: "]"))
    _ = try db.search("database", order: .newest)
    _ = try db.scanCheckpoint(sessionID: "s1")
    _ = try db.updateApprovalStatus(toolCallID: "toolu_1", status: .approved, resolvedAt: 1)
    _ = try db.integrityCheck(quick: true)
    _ = try db.checkpoint()
    _ = try db.collect()
    _ = try db.collect(path: sessionFile.path)
    _ = try db.usage(by: .day)
    _ = try db.usage(sessionID: "s1")
    _ = try db.usage(by: .model, since: 0, until: 1 << 62, source: "claude")
    _ = try db.registerWriterAndCollect(.memexKit)
    _ = try db.coordinationStep(.memexKit)
    _ = try other.writerHealth()
    _ = try other.tryTakeover()
    _ = try other.waitForRoleChange(from: .reader, timeout: .milliseconds(1))
    _ = try db.currentRole()
    _ = try SessionFiles.parse(jsonlAt: sessionFile.path)
    _ = try files.projects()
    _ = try files.sessions()
    _ = try files.latestSession(projectPath: "/work/leak")
    _ = try SessionFiles.readMessages(at: sessionFile.path, limit: 1)
    _ = try files.sessionPath(sessionID: "s1")
    _ = try files.sessionPath(sessionID: "nope")
    _ = try files.encodedDirName(projectPath: "/work/leak")
    _ = try files.computeSessionPath(encodedDirName: "-work-leak", sessionID: "s1")
    // Error paths.
    _ = try? files.computeSessionPath(encodedDirName: "..", sessionID: "s1")
    _ = try? db.insertMessages([], into: "missing")
    _ = try? other.insertMessages([], into: "s1")
    _ = try? SessionFiles.parse(jsonlAt: directory.appendingPathComponent("missing.jsonl").path)
}
let coordinator = WriterCoordinator(database: db, writerType: .memexKit)
try coordinator.start()
try coordinator.stop()
print("done \(try db.stats().messages) messages")
