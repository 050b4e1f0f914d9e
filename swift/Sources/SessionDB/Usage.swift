internal import CSessionDB

/// What usage totals are summed by (the C ABI's `SessionDbUsageGroup`). Days, weeks
/// (from Monday) and months are local dates.
public enum UsageGrouping: Int32, Sendable, Hashable, CaseIterable {
    case day = 0
    case session = 1
    case week = 2
    case month = 3
    case project = 4
    case model = 5
    case source = 6
}

/// Tokens and cost of one group of model calls.
///
/// Counts are apart and add up to `totalTokens`: input without cached input, output
/// without reasoning. `cost` is in USD from the price table per model; calls of models
/// without a price are not in it (their tokens are `unpricedTokens`, their names
/// `unpricedModels`), and it is nil when no call could be priced.
public struct UsageTotal: Sendable, Hashable {
    /// The date ("2026-01-31"; a week is its Monday), month ("2026-01"), session id,
    /// project path, model name ("" when none was recorded) or source.
    public let key: String
    public let requests: Int64
    public let sessions: Int64
    public let inputTokens: Int64
    public let outputTokens: Int64
    public let cacheReadTokens: Int64
    public let cacheWriteTokens: Int64
    public let reasoningTokens: Int64
    public let totalTokens: Int64
    public let cost: Double?
    public let unpricedTokens: Int64
    public let models: [String]
    public let unpricedModels: [String]
    /// Times of the first and last call (epoch ms).
    public let firstAt: Int64?
    public let lastAt: Int64?
}

extension SessionDatabase {
    /// Tokens and cost of the collected model calls, summed `by` day, session, week,
    /// month, project, model or source: dates oldest first, the others costliest first.
    /// `since`/`until` bound the calls' times (epoch ms, both included); `source` and
    /// `sessionID` keep one agent's or one session's calls.
    public func usage(by grouping: UsageGrouping = .day, since: Int64? = nil, until: Int64? = nil,
                      source: String? = nil, sessionID: String? = nil) throws(SessionDBError) -> [UsageTotal] {
        let function = "session_db_usage"
        for (name, bound) in [("since", since), ("until", until)] {
            if let bound, bound < 0 {
                throw SessionDBError(code: .invalidArgument, message: "\(name) must not be negative (got \(bound))",
                                     function: function)
            }
        }
        let sourceText = try cText(source, "source", function)
        let sessionText = try cText(sessionID, "sessionID", function)
        var array: UnsafeMutablePointer<SessionDbUsageArray>?
        let status = withOptionalCString(sourceText) { s in
            withOptionalCString(sessionText) { id in
                session_db_usage(handle, grouping.rawValue, since ?? -1, until ?? -1, s, id, &array)
            }
        }
        try check(status, function)
        defer { session_db_free_usage(array) }
        guard let array else { return [] }
        return elements(array.pointee.data, array.pointee.len) { row in
            UsageTotal(key: text(row.key) ?? "", requests: row.requests, sessions: row.sessions,
                       inputTokens: row.input_tokens, outputTokens: row.output_tokens,
                       cacheReadTokens: row.cache_read_tokens, cacheWriteTokens: row.cache_write_tokens,
                       reasoningTokens: row.reasoning_tokens, totalTokens: row.total_tokens,
                       cost: row.cost < 0 ? nil : row.cost, unpricedTokens: row.unpriced_tokens,
                       models: names(text(row.models)), unpricedModels: names(text(row.unpriced_models)),
                       firstAt: optionalTimestamp(row.first_at), lastAt: optionalTimestamp(row.last_at))
        }
    }

    /// Totals per day (local dates), oldest first.
    public func usagePerDay(since: Int64? = nil, until: Int64? = nil,
                            source: String? = nil) throws(SessionDBError) -> [UsageTotal] {
        try usage(by: .day, since: since, until: until, source: source)
    }

    /// The totals of one session, or nil when it has no recorded calls.
    public func usage(sessionID: String) throws(SessionDBError) -> UsageTotal? {
        try usage(by: .session, sessionID: sessionID).first
    }
}

private func names(_ joined: String?) -> [String] {
    guard let joined, !joined.isEmpty else { return [] }
    return joined.split(separator: ",").map(String.init)
}
