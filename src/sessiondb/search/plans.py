"""How a search runs: plans over the two FTS indexes, fast on a million messages.

A query runs against ``messages_fts`` (unicode61, the original's index) and, when
the database has CJK text, the side index ``messages_cjk``; the union is the result.
Ranked FTS5 queries cost about a microsecond per matching row, so a term that
appears in most messages would take a second to rank. Each search picks a plan per
index:

* lists:   score order: the rank index's lists of the index (``messages_fts`` and
           the CJK side index each have theirs), walked best first until nothing
           unseen can beat the k-th result (``sessiondb.search.topk``). Exact.
* exhaustive: score order otherwise (a rare word, an index without lists yet, a walk
           that would read too much): rank every match, best first. Exact.
* filter:  a project or session filter selecting few messages: search only the
           rowid ranges of those sessions (their rows are mostly contiguous).
* window:  newest or oldest first: walk the index newest row first and keep up to
           ``RANK_WINDOW`` matches (stopping after ``SCAN_BUDGET_S``); with fewer
           matches than that the result is exact.
* time / full: newest or oldest first over more matches than the window: walk
           the timestamp index asking the FTS index about each message (dense
           matches), or sort every match by time (sparse matches), whichever the
           window's match density predicts is cheaper. Both are exact.

With an exclusion, the rows with CJK text are left to the side index (its ``-word``
also excludes a word glued to CJK characters): ``messages_fts`` ranks the others only.

The score is FTS5's ``bm25()``; where our own function computes it
(``sessiondb.search.ranking``) it is given the same phrase weights, counted exactly.
"""

from __future__ import annotations

# Loaded on first use: finish importing typing before defining dataclasses (see sessiondb._startup).
import typing  # noqa: F401

import json
import time
from dataclasses import dataclass, field

import apsw
from typing import Any

from . import query as query_lang
from . import ranking, topk
from ..models import SearchOrder
from ..store import rank_index
from ..store.connection import scalar

# Newest/oldest first: how many matches the first walk keeps, within its budget.
RANK_WINDOW = 500
SCAN_BUDGET_S = 0.012
# A project / session filter of at most this many messages and sessions: filter plan.
SMALL_FILTER = 20_000
MAX_FILTER_SESSIONS = 400
RANGE_MERGE_GAP = 256
# Ranked matches checked against a filter per statement.
FILTER_PAGE = 256
# Measured costs (microseconds) of one FTS probe by rowid, and of one match in a full scan.
PROBE_COST_US = 45.0
SCAN_COST_US = 2.0
_MAX_CHAR = "\U0010ffff"
# SearchFilters.without_cjk_rows.
CJK_ROWS_EXCLUDED = ("NOT EXISTS (SELECT 1 FROM messages_cjk WHERE rowid = m.id) "
                     "AND NOT EXISTS (SELECT 1 FROM messages_cjk_pending WHERE message_id = m.id)")


@dataclass
class SearchFilters:
    """Restrictions on which messages a search may return (all optional, ANDed)."""

    project_id: int | None = None
    source: str | None = None
    role: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    session_prefix: str | None = None
    _sql: list[str] = field(default_factory=list, repr=False)
    _params: list[object] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.project_id is not None:
            self._add("m.session_id IN (SELECT session_id FROM sessions WHERE project_id = ?)", self.project_id)
        if self.session_prefix:
            self._add("m.session_id >= ? AND m.session_id < ?", self.session_prefix,
                      self.session_prefix + _MAX_CHAR)
        if self.role is not None:
            self._add("m.type = ?", self.role)
        if self.since_ms is not None:
            self._add("m.timestamp >= ?", self.since_ms)
        if self.until_ms is not None:
            self._add("m.timestamp <= ?", self.until_ms)
        if self.source is not None:
            # FFI inserts store no message source: fall back to the project's.
            self._add("(m.source = ? OR (m.source IS NULL AND m.session_id IN (SELECT s.session_id "
                      "FROM sessions s JOIN projects p ON p.id = s.project_id WHERE p.source = ?)))",
                      self.source, self.source)

    def without_cjk_rows(self) -> SearchFilters:
        """These filters, and no row with CJK text (indexed in the side index or queued for
        it). With an exclusion the side index decides such rows: there ``-word`` also
        excludes a word glued to CJK characters, which unicode61 keeps inside one token."""
        narrowed = SearchFilters(project_id=self.project_id, source=self.source, role=self.role,
                                 since_ms=self.since_ms, until_ms=self.until_ms, session_prefix=self.session_prefix)
        narrowed._add(CJK_ROWS_EXCLUDED)
        return narrowed

    def _add(self, sql: str, *params: object) -> None:
        self._sql.append(sql)
        self._params.extend(params)

    @property
    def empty(self) -> bool:
        return not self._sql

    @property
    def sql(self) -> str:
        return " AND ".join(self._sql) if self._sql else "1"

    @property
    def params(self) -> list[object]:
        return list(self._params)


@dataclass
class _Scan:
    """Result of walking one index newest-row first."""

    hits: list[tuple[int, float, int | None]]
    exhausted: bool   # every match was seen
    span: int         # how many rowids the walk covered


class Searcher:
    """One search: picks a plan per index (module docstring) and merges candidates.

    A candidate is (rowid, score, timestamp or None).
    """

    def __init__(self, conn: apsw.Connection, parsed: query_lang.ParsedQuery, filters: SearchFilters,
                 order: SearchOrder, need: int, cjk_index: bool, idf_cache: dict[Any, Any]) -> None:
        self.conn, self.parsed, self.filters, self.order, self.need = conn, parsed, filters, order, need
        self.cjk_index, self.idf_cache = cjk_index, idf_cache
        self.indexes = []
        if not parsed.requires_cjk:
            self.indexes.append("messages_fts")
        if cjk_index:
            self.indexes.append("messages_cjk")
        self.max_rowid = int(scalar(conn, "SELECT MAX(id) FROM messages") or 0)
        self.window = max(RANK_WINDOW, need)
        self.deadline = time.perf_counter() + SCAN_BUDGET_S  # shared by every index's window
        self.plans_used: list[str] = []

    def run(self) -> list[tuple[int, float]]:
        hits: dict[int, tuple[float, int | None]] = {}
        sessions = self._filter_sessions()
        everywhere = self.filters
        for index in self.indexes:
            # (Every plan reads self.filters: for this index they leave the side index's rows out.)
            if index == "messages_fts" and self.cjk_index and self.parsed.negative:
                self.filters = everywhere.without_cjk_rows()
            try:
                found = self._search_index(index, sessions)
            finally:
                self.filters = everywhere
            for rowid, score, ts in found:
                if rowid not in hits or score < hits[rowid][0]:
                    hits[rowid] = (score, ts)
        if self.cjk_index:
            for rowid in self._unindexed_matches():
                hits.setdefault(rowid, (0.0, None))
        return self._order(hits)

    # ---------------------------------------------------------------- plans
    def _search_index(self, index: str, sessions: list[str] | None) -> list[tuple[int, float, int | None]]:
        expr = self.parsed.fts(cjk_index=index == "messages_cjk")
        ranked = self.order is SearchOrder.SCORE
        weights = self._weights(index) if ranked else []
        if sessions is not None:
            self.plans_used.append(f"{index}:filter")
            return self._filter_plan(index, expr, weights, sessions)
        if ranked:
            ranker = topk.ListTopK(self.conn, self.parsed, self.filters.sql, self.filters.params, self.need,
                                   weights, self._lists(index))
            listed = ranker.run()
            if listed is not None:
                self.plans_used.append(f"{index}:lists({ranker.scored})")
                return [(rowid, score, None) for rowid, score in listed]
            self.plans_used.append(f"{index}:exhaustive")
            return self._exhaustive_plan(index, expr, weights)
        scan = self._window_plan(index, expr, [])
        if scan.exhausted:
            self.plans_used.append(f"{index}:window")
            return scan.hits
        # Newest/oldest first and more matches than the window: pick the cheaper exact plan.
        density = max(len(scan.hits), 1) / max(scan.span, 1)
        if self.need / density * PROBE_COST_US <= density * self.max_rowid * SCAN_COST_US:
            self.plans_used.append(f"{index}:time")
            return self._time_plan(index, expr)
        self.plans_used.append(f"{index}:full")
        return self._full_plan(index, expr)

    def _exhaustive_plan(self, index: str, expr: str, weights: list[float]) -> list[tuple[int, float, int | None]]:
        """Rank every match (exact; about 0.7 µs a match). With a filter, the matches are read best first and
        checked against the filter a page at a time, so a filter that keeps many of them
        is checked on few rows."""
        # FTS5's bm25() counts every phrase's rows itself, the excluded ones too: with an
        # exclusion, our function and weights (the same formula) skip that count.
        own = index == "messages_fts" and bool(self.parsed.negative)
        select, params = self._select(index, weights) if own else (f"{index}.rowid, bm25({index})", [])
        ranked = (f"SELECT {select} FROM {index} WHERE {index} MATCH ? ORDER BY 2, {index}.rowid DESC")
        if self.filters.empty:
            return [(r[0], r[1], None) for r in self.conn.execute(f"{ranked} LIMIT ?", [*params, expr, self.need])]
        kept: list[tuple[int, float, int | None]] = []
        check = (f"SELECT m.id FROM messages m WHERE m.id IN (SELECT value FROM json_each(?)) "
                 f"AND {self.filters.sql}")
        page: list[tuple[int, float]] = []
        cursor = self.conn.execute(ranked, [*params, expr])
        while len(kept) < self.need:
            page = [(int(r[0]), float(r[1])) for _, r in zip(range(FILTER_PAGE), cursor)]
            if not page:
                break
            allowed = {r[0] for r in self.conn.execute(check, [json.dumps([p[0] for p in page]),
                                                                *self.filters.params])}
            kept.extend((rowid, score, None) for rowid, score in page if rowid in allowed)
        return kept[:self.need]

    def _select(self, index: str, weights: list[float]) -> tuple[str, list[object]]:
        if not weights:
            return f"{index}.rowid, 0.0", []
        marks = ", ".join("?" * len(weights))
        return f"{index}.rowid, {ranking.FUNCTION}({index}, {marks})", list(weights)

    def _window_plan(self, index: str, expr: str, weights: list[float]) -> _Scan:
        """Newest matches first, at most ``window`` of them, within a time budget."""
        select, params = self._select(index, weights)
        if self.filters.empty:
            sql = f"SELECT {select} FROM {index} WHERE {index} MATCH ? ORDER BY {index}.rowid DESC LIMIT ?"
            params += [expr, self.window]
        else:
            sql = (f"SELECT {select} FROM {index} CROSS JOIN messages m ON m.id = {index}.rowid "
                   f"WHERE {index} MATCH ? AND {self.filters.sql} ORDER BY {index}.rowid DESC LIMIT ?")
            params += [expr, *self.filters.params, self.window]
        deadline = self.deadline
        hits: list[tuple[int, float, int | None]] = []
        complete = False
        need = self.need
        # The budget only cuts a scan short once it has a page of answers: on a busy
        # machine a search may be slow, never empty.
        self.conn.set_progress_handler(lambda: len(hits) >= need and time.perf_counter() > deadline, 2000)
        try:
            for rowid, score in self.conn.execute(sql, params):
                hits.append((rowid, score, None))
                if not len(hits) % 64 and len(hits) >= need and time.perf_counter() > deadline:
                    break
            else:
                complete = True
        except apsw.InterruptError:
            pass
        finally:
            self.conn.set_progress_handler(None)
        exhausted = complete and len(hits) < self.window
        span = self.max_rowid - hits[-1][0] + 1 if hits else self.max_rowid
        return _Scan(hits, exhausted, span)

    def _filter_plan(self, index: str, expr: str, weights: list[float],
                     sessions: list[str]) -> list[tuple[int, float, int | None]]:
        """Few sessions: ask the index about each session's rowid range, then check the filter."""
        select, base = self._select(index, weights)
        candidates: dict[int, float] = {}
        sql = f"SELECT {select} FROM {index} WHERE {index} MATCH ? AND {index}.rowid BETWEEN ? AND ?"
        for lo, hi in self._session_ranges(sessions):
            for rowid, score in self.conn.execute(sql, [*base, expr, lo, hi]):
                candidates[rowid] = score
        if not candidates:
            return []
        kept = self.conn.execute(
            f"SELECT m.id, m.timestamp FROM messages m WHERE m.id IN (SELECT value FROM json_each(?)) "
            f"AND {self.filters.sql}", [json.dumps(list(candidates)), *self.filters.params])
        return [(rowid, candidates[rowid], ts) for rowid, ts in kept]

    def _session_ranges(self, sessions: list[str]) -> list[tuple[int, int]]:
        ranges = []
        for sid in sessions:
            lo, hi = self.conn.execute("SELECT MIN(id), MAX(id) FROM messages WHERE session_id = ?",
                                       (sid,)).fetchone() or (None, None)
            if lo is not None:
                ranges.append((int(lo), int(hi or lo)))
        ranges.sort()
        merged: list[tuple[int, int]] = []
        for lo, hi in ranges:
            if merged and lo <= merged[-1][1] + RANGE_MERGE_GAP:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        return merged

    def _time_plan(self, index: str, expr: str) -> list[tuple[int, float, int | None]]:
        """Walk the timestamp index and ask the FTS index about each message."""
        source = (f"messages m INDEXED BY idx_messages_timestamp CROSS JOIN {index} ON {index}.rowid = m.id")
        return self._time_sorted(index, expr, source)

    def _full_plan(self, index: str, expr: str) -> list[tuple[int, float, int | None]]:
        """Every match, sorted by time (a top-k sort inside SQLite)."""
        return self._time_sorted(index, expr, f"{index} CROSS JOIN messages m ON m.id = {index}.rowid")

    def _time_sorted(self, index: str, expr: str, source: str) -> list[tuple[int, float, int | None]]:
        direction = "ASC" if self.order is SearchOrder.TIME_ASC else "DESC"
        sql = (f"SELECT m.id, m.timestamp FROM {source} WHERE {index} MATCH ? AND {self.filters.sql} "
               f"ORDER BY m.timestamp {direction}, m.id {direction} LIMIT ?")
        return [(r[0], 0.0, r[1]) for r in self.conn.execute(sql, [expr, *self.filters.params, self.need])]

    # ---------------------------------------------------------------- estimates
    def _filter_sessions(self) -> list[str] | None:
        """The sessions a project / session-prefix filter allows, when they are few."""
        f = self.filters
        if f.project_id is None and not f.session_prefix:
            return None
        where: list[str] = []
        params: list[Any] = []
        if f.project_id is not None:
            where.append("project_id = ?")
            params.append(f.project_id)
        if f.session_prefix:
            where.append("session_id >= ? AND session_id < ?")
            params += [f.session_prefix, f.session_prefix + _MAX_CHAR]
        rows = self.conn.execute(f"SELECT session_id, message_count FROM sessions WHERE {' AND '.join(where)} "
                                 "LIMIT ?", [*params, MAX_FILTER_SESSIONS + 1]).fetchall()
        if len(rows) > MAX_FILTER_SESSIONS or sum(int(r[1] or 0) for r in rows) > SMALL_FILTER:
            return None
        return [str(r[0]) for r in rows]

    def _weights(self, index: str) -> list[float]:
        """FTS5's bm25 weight of each positive phrase, in the order they appear in the
        expression (exclusions come last and never occur in a matching row)."""
        terms = [t for clause in self.parsed.positive for t in clause.terms]
        rows = self._rows(index)
        return [ranking.idf(rows, self._phrase_hits(index, t)) for t in terms]

    def _rows(self, index: str) -> int:
        return rank_index.fts_totals(self.conn, index)[0] or 1

    @staticmethod
    def _lists(index: str) -> rank_index.Lists:
        return rank_index.CJK if index == "messages_cjk" else rank_index.FTS

    def _phrase_hits(self, index: str, term: query_lang.Term) -> int:
        """Rows containing a phrase, exactly as bm25() counts them: for a word or a pair
        of words from the rank index's counts (plus the rows written since), otherwise
        counted by FTS5 (once per state of the table)."""
        expr = term.fts(cjk_index=index == "messages_cjk")
        if not term.prefix:
            lists = self._lists(index)
            words = rank_index.Tokenizer(self.conn)(lists.text(term.text), query=True)
            name = words[0] if len(words) == 1 else rank_index.pair_key(*words) if len(words) == 2 else None
            state = rank_index.state(self.conn, lists) if name is not None else None
            clean = state is not None and scalar(self.conn, f"SELECT 1 FROM {lists.dirty} LIMIT 1") is None
            docs = scalar(self.conn, f"SELECT docs FROM {lists.terms} WHERE term = ?", (name,)) if clean else None
            if docs is not None and state is not None:
                # (FTS5 seeks a common word's long doclist even when no row is past the lists.)
                top = self.max_rowid if not lists.spaced else lists.top(self.conn)
                tail = 0 if state.built_through >= top else scalar(
                    self.conn, f"SELECT COUNT(*) FROM {index} WHERE {index} MATCH ? AND rowid > ?",
                    (expr, state.built_through))
                return int(docs) + int(tail)
        key = ("hits", index, expr, self.max_rowid, self._rows(index))
        if key not in self.idf_cache:
            if len(self.idf_cache) > 512:
                self.idf_cache.clear()
            self.idf_cache[key] = int(scalar(self.conn, f"SELECT COUNT(*) FROM {index} WHERE {index} MATCH ?", (expr,)))
        return int(self.idf_cache[key])

    # ---------------------------------------------------------------- rows the side index has not seen
    def _unindexed_matches(self) -> list[int]:
        if self.conn.execute("SELECT 1 FROM messages_cjk_pending LIMIT 1").fetchone() is None:
            return []
        sql = ("SELECT m.id, m.content_full FROM messages_cjk_pending p CROSS JOIN messages m "
               f"ON m.id = p.message_id WHERE {self.filters.sql}")
        return [rowid for rowid, content in self.conn.execute(sql, self.filters.params)
                if self.parsed.matches_text(content)]

    # ---------------------------------------------------------------- ordering
    def _order(self, hits: dict[int, tuple[float, int | None]]) -> list[tuple[int, float]]:
        """(rowid, score), best first; ties go to the newer row."""
        if self.order is SearchOrder.SCORE:
            ranked = sorted(hits, key=lambda rowid: (hits[rowid][0], -rowid))
            return [(rowid, hits[rowid][0]) for rowid in ranked]
        missing = [rowid for rowid, (_, ts) in hits.items() if ts is None]
        times = {rowid: ts for rowid, (_, ts) in hits.items() if ts is not None}
        if missing:
            times.update(self.conn.execute("SELECT id, timestamp FROM messages WHERE id IN "
                                           "(SELECT value FROM json_each(?))", (json.dumps(missing),)))
        newest_first = self.order is SearchOrder.TIME_DESC
        ranked = sorted(times, key=lambda rowid: (times[rowid], rowid), reverse=newest_first)
        return [(rowid, hits[rowid][0]) for rowid in ranked]
