import Foundation
import Testing
@testable import SessionDB

/// Token usage of collected sessions. Part of the collection suite: it writes into the
/// shared Claude Code root, so it runs one at a time with the other collection tests.
extension CollectionTests {
    /// One line of a streamed Claude Code response: the usage so far.
    static func usageLine(uuid: String, session: String, messageID: String, requestID: String?, time: String,
                          input: Int, output: Int, cacheRead: Int, cacheWrite: Int) -> String {
        var object: [String: Any] = [
            "type": "assistant", "uuid": uuid, "sessionId": session, "cwd": "/work/usage-swift", "timestamp": time,
            "message": ["id": messageID, "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                        "content": [["type": "text", "text": "part \(uuid)"]],
                        "usage": ["input_tokens": input, "output_tokens": output,
                                  "cache_read_input_tokens": cacheRead, "cache_creation_input_tokens": cacheWrite]],
        ]
        if let requestID { object["requestId"] = requestID }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    @Test func usagePerSessionAndPerDayCountsEachResponseOnce() throws {
        let scratch = Scratch()
        let db = try scratch.database()
        #expect(try db.registerWriter(.memexDaemon) == .writer)
        let session = "usage-swift-1"
        let path = try writeClaudeSession(root: TestEnvironment.claudeProjects, cwd: "/work/usage-swift",
                                          session: session, texts: ["count my tokens"])
        // Two responses: the first streamed as three lines (growing output), the second,
        // from an older version, without a request id and a day later.
        try appendLines([
            Self.usageLine(uuid: "us-1", session: session, messageID: "msg_us1", requestID: "req_us1",
                           time: "2025-10-09T08:00:01.000Z", input: 10, output: 2, cacheRead: 0, cacheWrite: 900),
            Self.usageLine(uuid: "us-2", session: session, messageID: "msg_us1", requestID: "req_us1",
                           time: "2025-10-09T08:00:02.000Z", input: 10, output: 40, cacheRead: 0, cacheWrite: 900),
            Self.usageLine(uuid: "us-3", session: session, messageID: "msg_us1", requestID: "req_us1",
                           time: "2025-10-09T08:00:03.000Z", input: 10, output: 75, cacheRead: 0, cacheWrite: 900),
            Self.usageLine(uuid: "us-4", session: session, messageID: "msg_us2", requestID: nil,
                           time: "2025-10-10T09:00:00.000Z", input: 6, output: 30, cacheRead: 900, cacheWrite: 0),
        ], to: path)
        #expect(try db.collect(path: path).messagesInserted == 5)

        // By hand: the final snapshot of msg_us1 (10 + 75 + 900) and msg_us2 (6 + 30 + 900).
        let total = try #require(try db.usage(sessionID: session))
        #expect(total.requests == 2)
        #expect(total.inputTokens == 16 && total.outputTokens == 105)
        #expect(total.cacheReadTokens == 900 && total.cacheWriteTokens == 900)
        #expect(total.totalTokens == 16 + 105 + 900 + 900)
        #expect(total.models == ["claude-sonnet-4-5-20250929"] && total.unpricedModels.isEmpty)
        #expect((total.cost ?? 0) > 0)
        #expect(total.firstAt == 1_759_996_803_000 && total.lastAt == 1_760_086_800_000)

        let days = try db.usagePerDay(source: "claude")
        #expect(days.count == 2)
        #expect(days.map(\.totalTokens).reduce(0, +) == total.totalTokens)
        #expect(days.map(\.key) == days.map(\.key).sorted())
        for grouping in UsageGrouping.allCases {
            #expect(try db.usage(by: grouping).map(\.totalTokens).reduce(0, +) == total.totalTokens)
        }
        #expect(try db.usage(by: .day, since: 1_760_000_000_000).map(\.totalTokens) == [6 + 30 + 900])
        #expect(try db.usage(by: .source, source: "gemini").isEmpty)
        #expect(try db.usage(sessionID: "no-such-session") == nil)

        // Collected again: nothing changes.
        #expect(try db.collect(path: path).messagesInserted == 0)
        #expect(try db.usage(sessionID: session) == total)

        #expect(caught { _ = try db.usage(since: -5) }?.code == .invalidArgument)
    }
}
