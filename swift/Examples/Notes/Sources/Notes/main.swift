import Foundation
import SessionDB

let db = try SessionDatabase()          // ~/.vimo/db/ai-cli-session.db, or $CLAUDE_SESSION_DB_URL

// Become the writer, or a reader that takes over when the writer goes away.
let coordinator = WriterCoordinator(database: db, writerType: .vlaudeKit) { role in
    print("now the \(role)")            // or: for await role in coordinator.roleChanges() { ... }
}
if try coordinator.start() == .writer {
    let result = try db.collect()
    print("collected \(result.messagesInserted) messages, \(result.errorCount) errors")
}

// Search: every option of the C ABI, as a value.
var query = SearchQuery(#""database is locked" 数据库"#, limit: 20, order: .newest)
query.restrict(to: Date().addingTimeInterval(-7 * 86_400)...Date())
for hit in try db.search(query) {
    print(hit.projectName, hit.sessionID, hit.snippet)
}

do {
    try db.insertMessages([MessageInput(uuid: "u1", role: .user, content: "hi",
                                        timestamp: Date().epochMilliseconds, sequence: 0)], into: "no-such-session")
} catch {
    print(error.code, error.message)    // databaseError, "... session 'no-such-session' does not exist ..."
}

// Session files without a database.
let files = SessionFiles()              // ~/.claude/projects, or $CLAUDE_PROJECTS_PATH
if let latest = try files.latestSession(projectPath: "/Users/me/app"), let path = latest.sessionPath {
    let page = try SessionFiles.readMessages(at: path, limit: 50, ascending: false)
    print(page.total, page.messages.first?.content ?? "")
}
