// A Swift client of ai_cli_session_db.h: every function of the upstream ABI against
// libsessiondb, the agent client end to end as the Writer, and the upstream layouts.
//
// usage: UpstreamHeaderClient WORKDIR   (CLAUDE_PROJECTS_PATH must be WORKDIR/projects)
// Prints "writer_notify_ms X" and "N passed, M failed"; exits 1 on a failed check.
import CUpstreamABI
import Foundation

nonisolated(unsafe) var passed = 0
nonisolated(unsafe) var failed = 0

func check(_ condition: Bool, _ what: @autoclosure () -> String, line: Int = #line) {
    if condition {
        passed += 1
    } else {
        failed += 1
        FileHandle.standardError.write("FAIL line \(line): \(what())\n".data(using: .utf8)!)
    }
}

func lastError() -> String { String(cString: session_db_last_error()) }

func checkOK(_ rc: FfiError, _ what: String, line: Int = #line) {
    check(rc == Success, "\(what) returned \(rc.rawValue): \(lastError())", line: line)
}

func checkCode(_ rc: FfiError, _ code: FfiError, _ what: String, line: Int = #line) {
    check(rc == code && !lastError().isEmpty, "\(what) returned \(rc.rawValue), want \(code.rawValue)", line: line)
}

func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }

func milliseconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}

func line(_ object: [String: Any]) -> String {
    String(data: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), encoding: .utf8)! + "\n"
}

func append(_ text: String, to url: URL) {
    let handle = try! FileHandle(forWritingTo: url)
    handle.seekToEndOfFile()
    handle.write(text.data(using: .utf8)!)
    try! handle.close()
}

func hits(_ db: OpaquePointer?, _ query: String) -> Int {
    var array: UnsafeMutablePointer<SearchResultArray>?
    guard session_db_search_fts(db, query, 10, &array) == Success, let found = array else { return 0 }
    defer { session_db_free_search_results(found) }
    return Int(found.pointee.len)
}

guard CommandLine.arguments.count == 2 else {
    print("usage: UpstreamHeaderClient WORKDIR")
    exit(2)
}
let work = URL(fileURLWithPath: CommandLine.arguments[1])
let projects = work.appendingPathComponent("projects")
let dataDir = work.appendingPathComponent("data")
let dbPath = dataDir.appendingPathComponent("db/ai-cli-session.db").path
let sessionFile = projects.appendingPathComponent("-work-demo/abc.jsonl")
let subagentFile = projects.appendingPathComponent("-work-demo/abc/subagents/agent-sub1.jsonl")
try! FileManager.default.createDirectory(at: subagentFile.deletingLastPathComponent(), withIntermediateDirectories: true)
try! (line(["uuid": "u-1", "type": "user", "cwd": "/work/demo", "sessionId": "abc",
            "timestamp": "2026-01-20T10:00:00.000Z", "message": ["role": "user", "content": "hello from swift"]])
      + line(["uuid": "u-2", "type": "assistant", "cwd": "/work/demo", "sessionId": "abc",
              "timestamp": "2026-01-20T10:00:01.000Z",
              "message": ["role": "assistant", "content": [["type": "text", "text": "answer about sqlite"]]]]))
    .write(to: sessionFile, atomically: true, encoding: .utf8)
try! line(["uuid": "s-1", "type": "user", "cwd": "/work/demo", "sessionId": "abc", "agentId": "sub1",
           "isSidechain": true, "timestamp": "2026-01-20T10:00:02.000Z",
           "message": ["role": "user", "content": "review the heartbeat"]])
    .write(to: subagentFile, atomically: true, encoding: .utf8)

// Layouts of the upstream header.
check(MemoryLayout<Session>.size == 72 && MemoryLayout<Session>.offset(of: \Session.session_type) == 40
      && MemoryLayout<Session>.offset(of: \Session.created_at) == 56, "Session layout")
check(MemoryLayout<SessionMetaC>.size == 80 && MemoryLayout<SessionMetaC>.offset(of: \SessionMetaC.last_message_at) == 72,
      "SessionMetaC layout")
check(MemoryLayout<SessionRelationC>.size == 40, "SessionRelationC layout")
check(NotConnected.rawValue == 7 && RequestFailed.rawValue == 8 && Unknown.rawValue == 99, "FfiError values")
check(String(cString: agent_client_version()) == String(cString: session_db_version()), "agent_client_version")

// ---------------------------------------------------------------- the agent client as Writer
var agent: OpaquePointer?
checkOK(agent_client_create("vlaudekit", dataDir.path, "/nowhere/agent", &agent), "agent_client_create")
check(!agent_client_is_connected(agent), "not connected after create")
checkCode(agent_client_notify_file_change(agent, sessionFile.path), NotConnected, "notify before connect")
checkOK(agent_client_connect(agent), "agent_client_connect")
check(agent_client_is_connected(agent), "connected")
checkOK(agent_client_notify_file_change(agent, sessionFile.path), "notify the session")
checkOK(agent_client_notify_file_change(agent, subagentFile.path), "notify the subagent")

var reader: OpaquePointer?
checkOK(session_db_connect(dbPath, &reader), "session_db_connect")
check(hits(reader, "sqlite") == 1, "the notified file is stored")
append(line(["uuid": "u-3", "type": "assistant", "cwd": "/work/demo", "sessionId": "abc",
             "timestamp": "2026-01-20T10:00:05.000Z",
             "message": ["role": "assistant", "content": [
                ["type": "text", "text": "the platypus answer"],
                ["type": "tool_use", "id": "toolu_swift_1", "name": "Bash", "input": ["command": "ls"]]]]]),
       to: sessionFile)
let started = DispatchTime.now()
checkOK(agent_client_notify_file_change(agent, sessionFile.path), "notify the append")
let notifyMs = milliseconds(since: started)
check(hits(reader, "platypus") == 1, "the append is searchable when notify returns")
print(String(format: "writer_notify_ms %.2f", notifyMs))
checkOK(agent_client_write_approve_result(agent, "toolu_swift_1", Rejected, 1_768_903_210_000), "approve")
checkCode(agent_client_write_approve_result(agent, "toolu_swift_1", ApprovalStatusC(rawValue: 9), 1), Unknown,
          "approve with a status out of range")

// ---------------------------------------------------------------- reads, relations, files
var projectCount: Int64 = 0, sessionCount: Int64 = 0, messageCount: Int64 = 0
checkOK(session_db_get_stats(reader, &projectCount, &sessionCount, &messageCount), "get_stats")
check(projectCount == 1 && sessionCount == 2 && messageCount == 4, "stats \(projectCount) \(sessionCount) \(messageCount)")
var projectArray: UnsafeMutablePointer<ProjectArray>?
checkOK(session_db_list_projects(reader, &projectArray), "list_projects")
let projectID = projectArray.map { $0.pointee.len == 1 ? $0.pointee.data[0].id : -1 } ?? -1
check(projectID > 0 && text(projectArray?.pointee.data[0].path) == "/work/demo", "the project")
session_db_free_projects(projectArray)

var sessionArray: UnsafeMutablePointer<SessionArray>?
checkOK(session_db_list_sessions(reader, projectID, &sessionArray), "list_sessions")
var types: [String: String] = [:]
if let array = sessionArray {
    for i in 0..<Int(array.pointee.len) {
        let s = array.pointee.data[i]
        types[text(s.session_id) ?? ""] = text(s.session_type)
        check(text(s.source) == "claude" && s.created_at > 0, "session source and time")
    }
}
check(types["abc"] == "main" && types.values.filter { $0 == "subagent" }.count == 1, "session types \(types)")
session_db_free_sessions(sessionArray)

var children: UnsafeMutablePointer<SessionRelationArray>?
checkOK(session_db_get_children_sessions(reader, "abc", &children), "get_children_sessions")
let child = children.flatMap { $0.pointee.len == 1 ? text($0.pointee.data[0].child_session_id) : nil } ?? ""
check(!child.isEmpty && text(children?.pointee.data[0].relation_type) == "subagent", "one subagent child")
session_db_free_session_relations(children)
var parent: UnsafeMutablePointer<SessionRelationC>?
checkOK(session_db_get_parent_session(reader, child, &parent), "get_parent_session")
check(text(parent?.pointee.parent_session_id) == "abc", "parent of the subagent")
session_db_free_session_relation(parent)

var checkpoint: Int64 = 0
checkOK(session_db_get_scan_checkpoint(reader, "abc", &checkpoint), "get_scan_checkpoint")
var messages: UnsafeMutablePointer<MessageArray>?
checkOK(session_db_list_messages(reader, "abc", 10, 0, &messages), "list_messages")
check(messages?.pointee.len == 3, "three messages")
session_db_free_messages(messages)
for order in [Score, TimeDesc, TimeAsc] {
    var found: UnsafeMutablePointer<SearchResultArray>?
    checkOK(session_db_search_fts_with_options(reader, "platypus", 10, projectID, order, &found), "with_options")
    check(found?.pointee.len == 1, "search with options")
    session_db_free_search_results(found)
    found = nil
    checkOK(session_db_search_fts_full(reader, "platypus", 10, -1, order, 0, Int64.max, &found), "search_fts_full")
    check(found?.pointee.len == 1, "search full")
    session_db_free_search_results(found)
}
var inProject: UnsafeMutablePointer<SearchResultArray>?
checkOK(session_db_search_fts_with_project(reader, "heartbeat", 10, projectID, &inProject), "with_project")
check(inProject?.pointee.len == 1, "search in project")
session_db_free_search_results(inProject)
var pid: Int64 = 0
checkCode(session_db_upsert_project(reader, "x", "/x", "claude", &pid), PermissionDenied, "a Reader's write")

let parsed = session_db_parse_jsonl(sessionFile.path)
check(parsed.error == Success && parsed.session?.pointee.messages.len == 3, "parse_jsonl")
session_db_free_parse_result(parsed.session)
let found = session_db_get_session_path(projects.path, "abc")
check(text(found) == sessionFile.path, "get_session_path")
session_db_free_string(found)
let encoded = session_db_get_encoded_dir_name(projects.path, "/work/demo")
check(text(encoded) == "-work-demo", "get_encoded_dir_name")
session_db_free_string(encoded)
let computed = session_db_compute_session_path(projects.path, "-work-demo", "abc")
check(text(computed) == sessionFile.path, "compute_session_path")
session_db_free_string(computed)
var infos: UnsafeMutablePointer<ProjectInfoArray>?
checkOK(session_db_list_file_projects(projects.path, 0, &infos), "list_file_projects")
check(infos?.pointee.len == 1, "one file project")
session_db_free_project_list(infos)
var metas: UnsafeMutablePointer<SessionMetaArray>?
checkOK(session_db_list_session_metas(projects.path, "/work/demo", &metas), "list_session_metas")
if let array = metas, array.pointee.len == 1 {
    let m = array.pointee.data[0]
    check(text(m.last_message_type) == "assistant" && text(m.last_message_preview)?.contains("platypus") == true
          && m.last_message_at == 1_768_903_205_000, "last message of the meta")
} else {
    check(false, "one session meta")
}
session_db_free_session_meta_list(metas)
var latest: UnsafeMutablePointer<SessionMetaC>?
checkOK(session_db_find_latest_session(projects.path, "/work/demo", 0, &latest), "find_latest_session")
check(text(latest?.pointee.id) == "abc" && latest?.pointee.last_message_at == 1_768_903_205_000, "latest session")
session_db_free_session_meta(latest)
var page: UnsafeMutablePointer<MessagesResultC>?
checkOK(session_db_read_session_messages(sessionFile.path, 2, 0, true, &page), "read_session_messages")
check(page?.pointee.message_count == 2 && page?.pointee.total == 3 && page?.pointee.has_more == true, "a page")
session_db_free_messages_result(page)

// ---------------------------------------------------------------- release, then write directly
agent_client_disconnect(agent)
check(!agent_client_is_connected(agent), "disconnected")
checkCode(agent_client_notify_file_change(agent, sessionFile.path), NotConnected, "notify after disconnect")
checkCode(agent_client_write_approve_result(agent, "toolu_swift_1", Approved, 1), NotConnected, "approve after disconnect")
var health: Int32 = -1
checkOK(session_db_check_writer_health(reader, &health), "check_writer_health")
check(health == 2, "the writer role was released: \(health)")

var writer: OpaquePointer?
checkOK(session_db_connect(dbPath, &writer), "a second handle")
var role: Int32 = -1
checkOK(session_db_register_writer(writer, 2, &role), "register_writer")
check(role == 0, "Writer once released")
checkOK(session_db_upsert_project(writer, "other", "/work/other", "codex", &pid), "upsert_project")
checkOK(session_db_upsert_session(writer, "other-1", pid), "upsert_session")
var inserted: UInt = 0
let inserts = [MessageInputC(uuid: nil, role: 0, content: nil, timestamp: 1_760_000_000_000, sequence: 0)]
"other-u1".withCString { uuid in
    "inserted from swift".withCString { content in
        var batch = inserts
        batch[0].uuid = uuid
        batch[0].content = content
        checkOK(session_db_insert_messages(writer, "other-1", &batch, 1, &inserted), "insert_messages")
    }
}
check(inserted == 1, "one message inserted")
checkOK(session_db_update_session_last_message(writer, "other-1", 1_760_000_000_000), "update_session_last_message")
var collected: UnsafeMutablePointer<CollectResultC>?
checkOK(session_db_collect_by_path(writer, sessionFile.path, &collected), "collect_by_path")
session_db_free_collect_result(collected)
collected = nil
checkOK(session_db_collect(writer, &collected), "collect")
session_db_free_collect_result(collected)
checkOK(session_db_release_writer(writer), "release_writer")
session_db_close(writer)

checkOK(agent_client_connect(agent), "reconnect")
agent_client_destroy(agent)
checkOK(session_db_check_writer_health(reader, &health), "health after destroy")
check(health == 2, "destroy released the role: \(health)")
session_db_close(reader)

print("\(passed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)
