import Foundation

// The database keeps times as Unix epoch milliseconds; these are the `Date` views.

extension Date {
    /// The date `milliseconds` after 1970-01-01 00:00 UTC.
    public init(epochMilliseconds milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// This date as Unix epoch milliseconds (what the database stores).
    public var epochMilliseconds: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded())
    }
}

extension Message {
    public var date: Date { Date(epochMilliseconds: timestamp) }
}

extension SearchResult {
    public var date: Date? { timestamp.map { Date(epochMilliseconds: $0) } }
}

extension Session {
    public var lastMessageDate: Date? { lastMessageAt.map { Date(epochMilliseconds: $0) } }
}

extension SearchQuery {
    /// Only messages whose time lies in `range` (both ends included).
    public mutating func restrict(to range: ClosedRange<Date>) {
        restrict(to: range.lowerBound.epochMilliseconds...range.upperBound.epochMilliseconds)
    }
}
