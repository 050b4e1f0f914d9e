import Foundation
import Testing
@testable import SessionDB

@Suite("Search: query language, CJK, every option")
struct SearchTests {
    /// Two projects, three sessions, messages over three days.
    final class Corpus {
        let scratch = Scratch()
        let db: SessionDatabase
        let alpha: Int64
        let beta: Int64
        static let day: Int64 = 86_400_000
        static let start: Int64 = 1_760_000_000_000

        init() throws {
            db = try scratch.database()
            alpha = try seedSession(db, session: "alpha-1", project: "/work/alpha", source: "claude")
            try db.upsertSession("alpha-2", projectID: alpha)
            beta = try seedSession(db, session: "beta-1", project: "/work/beta", source: "codex")
            try db.insertMessages([
                message("a1", .user, "How do I open the sqlite database file?", at: Self.start, sequence: 0),
                message("a2", .assistant, "Open it with the database is locked retry loop in db.py", at: Self.start + 1000,
                        sequence: 1),
                message("a3", .user, "请帮我检查单文件数据库的锁", at: Self.start + Self.day, sequence: 2),
                message("a4", .assistant, "数据库文件已经检查完毕，没有问题", at: Self.start + Self.day + 1000,
                        sequence: 3),
            ], into: "alpha-1")
            try db.insertMessages([
                message("a5", .tool, "[Result] parse_session returned 12 records", at: Self.start + 2 * Self.day,
                        sequence: 0),
            ], into: "alpha-2")
            try db.insertMessages([
                message("b1", .user, "the database is slow on large files", at: Self.start + 2 * Self.day + 5000,
                        sequence: 0),
                message("b2", .assistant, "locked database: wait and retry", at: Self.start + 2 * Self.day + 6000,
                        sequence: 1),
            ], into: "beta-1")
        }
    }

    @Test func wordsAreAnded() throws {
        let corpus = try Corpus()
        let hits = try corpus.db.search("database locked")
        #expect(Set(hits.map(\.messageID)).count == hits.count)
        #expect(Set(hits.map(\.sessionID)) == ["alpha-1", "beta-1"])
        #expect(hits.allSatisfy { $0.content.lowercased().contains("database") && $0.content.contains("locked") })
        #expect(hits.count == 2)
        let first = try #require(hits.first)
        #expect(first.score != 0)   // relevance order carries BM25 scores
        #expect(!first.projectName.isEmpty)
        #expect(first.timestamp != nil)
        #expect(first.date != nil)
    }

    @Test func phraseMatchesOnlyTheExactPhrase() throws {
        let corpus = try Corpus()
        let hits = try corpus.db.search(#""database is locked""#)
        #expect(hits.map(\.content) == ["Open it with the database is locked retry loop in db.py"])
        #expect(hits.first?.role == .assistant)
        #expect(hits.first?.roleName == "assistant")
        // The same words out of order are not the phrase.
        #expect(try corpus.db.search(#""locked database is""#).isEmpty)
    }

    @Test func cjkTextIsFoundBySubstring() throws {
        let corpus = try Corpus()
        let single = try corpus.db.search("单文件")
        #expect(single.map(\.sessionID) == ["alpha-1"])
        #expect(single.first?.content == "请帮我检查单文件数据库的锁")
        let both = try corpus.db.search("数据库")
        #expect(Set(both.map(\.content)) == ["请帮我检查单文件数据库的锁", "数据库文件已经检查完毕，没有问题"])
        let phrase = try corpus.db.search(#""检查完毕""#)
        #expect(phrase.count == 1)
        #expect(phrase.first?.snippet.contains("<mark>") == true)
        #expect(try corpus.db.search("不存在的词").isEmpty)
    }

    @Test func prefixOrAndExclusion() throws {
        let corpus = try Corpus()
        #expect(Set(try corpus.db.search("retr*").map(\.messageID)).count == 2)
        #expect(try corpus.db.search("sqlite OR slow").count == 2)
        let excluded = try corpus.db.search("database -locked")
        #expect(!excluded.isEmpty)
        #expect(excluded.allSatisfy { !$0.content.contains("locked") })
    }

    @Test func codeIdentifiersAreFound() throws {
        let corpus = try Corpus()
        #expect(try corpus.db.search("parse_session").map(\.sessionID) == ["alpha-2"])
        #expect(try corpus.db.search("db.py").count == 1)
    }

    @Test func userInputNeverBreaksTheQuery() throws {
        let corpus = try Corpus()
        for query in [#"""#, "(", "AND", "-", "*", "NEAR(", #"a"b"#, "   ", ""] {
            _ = try corpus.db.search(query)
        }
    }

    @Test func projectFilter() throws {
        let corpus = try Corpus()
        let hits = try corpus.db.search("database", projectID: corpus.beta)
        #expect(!hits.isEmpty)
        #expect(hits.allSatisfy { $0.projectID == corpus.beta && $0.sessionID == "beta-1" })
        #expect(try corpus.db.search(SearchQuery("database", projectID: corpus.alpha)).allSatisfy {
            $0.projectID == corpus.alpha
        })
    }

    @Test func timeOrders() throws {
        let corpus = try Corpus()
        let newest = try corpus.db.search("database", order: .newest)
        let oldest = try corpus.db.search("database", order: .oldest)
        let times = newest.compactMap(\.timestamp)
        #expect(times.count == newest.count && newest.count >= 3)
        #expect(times == times.sorted(by: >))
        #expect(oldest.compactMap(\.timestamp) == times.sorted())
    }

    @Test func dateRangeIsInclusive() throws {
        let corpus = try Corpus()
        var query = SearchQuery("database", order: .oldest)
        query.restrict(to: Corpus.start...(Corpus.start + 1000))
        #expect(try corpus.db.search(query).map(\.content) == [
            "How do I open the sqlite database file?", "Open it with the database is locked retry loop in db.py",
        ])
        query = SearchQuery("database", since: Corpus.start + 2 * Corpus.day)
        #expect(try corpus.db.search(query).allSatisfy { $0.sessionID == "beta-1" })
        query = SearchQuery("database", until: Corpus.start)
        #expect(try corpus.db.search(query).count == 1)
        var byDate = SearchQuery("数据库")
        byDate.restrict(to: Date(epochMilliseconds: Corpus.start + Corpus.day)...Date(epochMilliseconds: Corpus.start
                                                                                            + Corpus.day + 1000))
        #expect(try corpus.db.search(byDate).count == 2)
    }

    @Test func roleSourceAndSessionPrefix() throws {
        let corpus = try Corpus()
        #expect(try corpus.db.search(SearchQuery("database", role: .user)).allSatisfy { $0.role == .user })
        #expect(try corpus.db.search(SearchQuery("database", role: .assistant)).count == 2)
        #expect(try corpus.db.search(SearchQuery("database", source: "codex")).map(\.sessionID).allSatisfy {
            $0 == "beta-1"
        })
        #expect(try corpus.db.search(SearchQuery("database", source: "gemini")).isEmpty)
        #expect(try corpus.db.search(SearchQuery("database", sessionPrefix: "beta")).map(\.sessionID).allSatisfy {
            $0 == "beta-1"
        })
        #expect(try corpus.db.search(SearchQuery("parse_session", sessionPrefix: "alpha-2")).count == 1)
    }

    @Test func limitOffsetHighlightAndSnippetLength() throws {
        let corpus = try Corpus()
        let all = try corpus.db.search(SearchQuery("database", order: .oldest))
        #expect(all.count >= 3)
        let page = try corpus.db.search(SearchQuery("database", limit: 2, offset: 1, order: .oldest))
        #expect(page.map(\.messageID) == Array(all.map(\.messageID)[1...2]))
        let marked = try corpus.db.search(SearchQuery("sqlite", highlightOpen: "[[", highlightClose: "]]"))
        #expect(marked.first?.snippet.contains("[[sqlite]]") == true)
        let short = try #require(try corpus.db.search(SearchQuery("sqlite", snippetLength: 12)).first)
        let excerpt = ["<mark>", "</mark>", "..."].reduce(short.snippet) { $0.replacingOccurrences(of: $1, with: "") }
        #expect(excerpt.contains("sqlite"))
        #expect(excerpt.count <= 12)
    }

    @Test func badOptionsAreRefusedWithMessages() throws {
        let corpus = try Corpus()
        for query in [SearchQuery("x", limit: -1), SearchQuery("x", offset: -3), SearchQuery("x", since: -1),
                      SearchQuery("x", snippetLength: 0), SearchQuery("x\0y")] {
            let error = try #require(caught { _ = try corpus.db.search(query) })
            #expect(error.code == .invalidArgument)
            #expect(!error.message.isEmpty)
        }
    }
}
