internal import CSessionDB

/// A full-text search and every option it can take.
///
/// The query language: words are ANDed; `"exact phrase"`, `prefix*`, `a OR b`,
/// `-exclude`. CJK text is found as substrings, code identifiers and paths by their
/// parts. No input is a syntax error: a query with nothing searchable finds nothing.
public struct SearchQuery: Sendable, Hashable {
    public var text: String
    public var limit: Int
    public var offset: Int
    /// Only this project.
    public var projectID: Int64?
    /// Only this agent CLI ("claude", "codex", "opencode", "gemini").
    public var source: String?
    /// Only messages of this role.
    public var role: MessageRole?
    public var order: SearchOrder
    /// Only messages at or after this time (epoch ms).
    public var since: Int64?
    /// Only messages at or before this time (epoch ms).
    public var until: Int64?
    /// Only sessions whose id starts with this.
    public var sessionPrefix: String?
    /// Put around each match in snippets.
    public var highlightOpen: String
    public var highlightClose: String
    /// Snippet length in characters (nil: the library's default, 200).
    public var snippetLength: Int?

    public init(_ text: String, limit: Int = 20, offset: Int = 0, projectID: Int64? = nil, source: String? = nil,
                role: MessageRole? = nil, order: SearchOrder = .score, since: Int64? = nil, until: Int64? = nil,
                sessionPrefix: String? = nil, highlightOpen: String = "<mark>", highlightClose: String = "</mark>",
                snippetLength: Int? = nil) {
        self.text = text
        self.limit = limit
        self.offset = offset
        self.projectID = projectID
        self.source = source
        self.role = role
        self.order = order
        self.since = since
        self.until = until
        self.sessionPrefix = sessionPrefix
        self.highlightOpen = highlightOpen
        self.highlightClose = highlightClose
        self.snippetLength = snippetLength
    }

    /// Only messages whose time lies in `range` (epoch ms, both ends included).
    public mutating func restrict(to range: ClosedRange<Int64>) {
        since = range.lowerBound
        until = range.upperBound
    }
}

extension SessionDatabase {
    /// Searches the messages; best matches first unless `query.order` says otherwise.
    public func search(_ query: SearchQuery) throws(SessionDBError) -> [SearchResult] {
        let function = "session_db_search"
        let queryText = try cText(query.text, "query", function)
        let source = try cText(query.source, "source", function)
        let prefix = try cText(query.sessionPrefix, "sessionPrefix", function)
        let open = try cText(query.highlightOpen, "highlightOpen", function)
        let close = try cText(query.highlightClose, "highlightClose", function)
        let limit = try cCount(query.limit, "limit", function)
        let offset = try cCount(query.offset, "offset", function)
        for (name, bound) in [("since", query.since), ("until", query.until)] {
            if let bound, bound < 0 {
                throw SessionDBError(code: .invalidArgument, message: "\(name) must not be negative (got \(bound))",
                                     function: function)
            }
        }
        if let projectID = query.projectID, projectID < 0 {
            throw SessionDBError(code: .invalidArgument, message: "projectID must not be negative (got \(projectID))",
                                 function: function)
        }
        var snippetChars: UInt32 = 0
        if let length = query.snippetLength {
            guard length > 0, length <= Int(UInt32.max) else {
                throw SessionDBError(code: .invalidArgument, message: "snippetLength must be positive (got \(length))",
                                     function: function)
            }
            snippetChars = UInt32(length)
        }

        var array: UnsafeMutablePointer<SearchResultArray>?
        let status = queryText.withCString { q in
            withOptionalCString(source) { s in
                withOptionalCString(prefix) { p in
                    open.withCString { o in
                        close.withCString { c in
                            var options = SessionDbSearchOptions()
                            session_db_search_options_init(&options)
                            options.query = q
                            options.limit = limit
                            options.offset = offset
                            options.project_id = query.projectID ?? -1
                            options.source = s
                            options.role = query.role?.rawValue ?? -1
                            options.order_by = SearchOrderByC(UInt32(query.order.rawValue))
                            options.start_timestamp = query.since ?? -1
                            options.end_timestamp = query.until ?? -1
                            options.session_prefix = p
                            options.highlight_open = o
                            options.highlight_close = c
                            options.snippet_chars = snippetChars
                            return session_db_search(handle, &options, &array)
                        }
                    }
                }
            }
        }
        try check(status, function)
        defer { session_db_free_search_results(array) }
        guard let array else { return [] }
        return elements(array.pointee.data, array.pointee.len) { hit in
            SearchResult(messageID: hit.message_id, sessionID: text(hit.session_id) ?? "", projectID: hit.project_id,
                         projectName: text(hit.project_name) ?? "", roleName: text(hit.role) ?? "",
                         content: text(hit.content) ?? "", snippet: text(hit.snippet) ?? "", score: hit.score,
                         timestamp: optionalTimestamp(hit.timestamp))
        }
    }

    /// Searches with the common options; see ``SearchQuery`` for all of them.
    public func search(_ text: String, limit: Int = 20, projectID: Int64? = nil,
                       order: SearchOrder = .score) throws(SessionDBError) -> [SearchResult] {
        try search(SearchQuery(text, limit: limit, projectID: projectID, order: order))
    }
}
