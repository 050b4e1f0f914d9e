"""Full-text search: the search part of :class:`sessiondb.SessionDB`.

The query language is :mod:`sessiondb.search.query`; how a query runs (plans over the
unicode61 index and the CJK side index, BM25 ranking) is :mod:`sessiondb.search.plans`,
loaded on the first search.
"""

from __future__ import annotations


from ..errors import InvalidArgument
from ..models import MessageType, SearchOrder, SearchResult
from ..store import validate
from . import ranking
from .snippet import DEFAULT_HIGHLIGHT, DEFAULT_SNIPPET_CHARS

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from datetime import datetime

    import apsw

    from ..store.core import Store



def _to_ms(name: str, value: int | datetime | None) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int):
        from datetime import datetime, timezone  # loaded on first use (see sessiondb._startup)
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
            return int(moment.timestamp() * 1000)
    return validate.integer(name, value)


def _role(value: MessageType | str | None) -> str | None:
    if value is None or isinstance(value, MessageType):
        return value.value if value is not None else None
    if isinstance(value, str) and value.lower() in {t.value for t in MessageType}:
        return value.lower()
    raise InvalidArgument(f"unknown role {value!r}; use user, assistant, tool or system")


def prepare_connection(conn: apsw.Connection, objects: set[str]) -> None:
    """What search needs on every connection: the BM25 function and, per index, an
    ``fts5vocab`` view (temp: no schema change) for term-weight estimates."""
    ranking.register(conn)
    for index in ("messages_fts", "messages_cjk"):
        if index in objects:
            conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{index}_vocab USING fts5vocab(main, {index}, row)")


class Search:
    """Search over one store; keeps the term statistics it has estimated."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._idf_cache: dict[str, float] = {}
        # Plans chosen by the last search, per index (for tests and benchmarks).
        self.last_search_plans: tuple[str, ...] = ()

    def search(self, query: str, *, limit: int = 20, offset: int = 0, project_id: int | None = None,
               source: str | None = None, role: MessageType | str | None = None,
               since: int | datetime | None = None, until: int | datetime | None = None,
               session_prefix: str | None = None, order: SearchOrder = SearchOrder.SCORE,
               highlight: tuple[str, str] = DEFAULT_HIGHLIGHT,
               snippet_chars: int = DEFAULT_SNIPPET_CHARS) -> list[SearchResult]:
        """Search message text. See :mod:`sessiondb.search.query` for the query syntax.

        ``since``/``until`` are inclusive bounds (epoch ms or datetime). ``score`` is
        FTS5's bm25 (lower is better, as in the original). Any query string is
        accepted: one with nothing searchable returns no results.
        """
        # Under the handle's lock from the start: the modules this loads on first use are
        # then imported under it too, and a fork() (which waits for the lock) never cuts
        # an import short, which would leave the child waiting for it forever.
        with self._store.lock:
            return self._search(query, limit, offset, project_id, source, role, since, until, session_prefix,
                                order, highlight, snippet_chars)

    def _search(self, query: str, limit: int, offset: int, project_id: int | None, source: str | None,
                role: MessageType | str | None, since: int | datetime | None, until: int | datetime | None,
                session_prefix: str | None, order: SearchOrder, highlight: tuple[str, str],
                snippet_chars: int) -> list[SearchResult]:
        limit = validate.integer("limit", limit, minimum=0)
        offset = validate.integer("offset", offset, minimum=0)
        order = SearchOrder(order)
        if not (isinstance(highlight, tuple) and len(highlight) == 2 and all(isinstance(h, str) for h in highlight)):
            raise InvalidArgument("highlight must be a pair of strings (opening, closing)")
        from . import query as query_lang
        from .plans import SearchFilters, Searcher
        from .snippet import make_snippet

        filters = SearchFilters(
            project_id=validate.optional_integer("project_id", project_id),
            source=validate.optional_text("source", source), role=_role(role),
            since_ms=_to_ms("since", since), until_ms=_to_ms("until", until),
            session_prefix=validate.optional_text("session_prefix", session_prefix))
        parsed = query_lang.parse_query(query)
        self.last_search_plans = ()
        if parsed.is_empty or limit == 0:
            return []
        with self._store.snapshot() as conn:
            searcher = Searcher(conn, parsed, filters, order, offset + limit, self._store.has_cjk_index,
                                self._idf_cache)
            scores = dict(searcher.run()[offset:offset + limit])
            self.last_search_plans = tuple(searcher.plans_used)
            import json  # loaded on first use (see sessiondb._startup)
            rows = {r[0]: r for r in conn.execute(
                "SELECT m.id, m.session_id, s.project_id, p.name, m.type, m.content_full, m.timestamp, m.uuid, "
                "m.source, p.path FROM messages m JOIN sessions s ON s.session_id = m.session_id "
                "JOIN projects p ON p.id = s.project_id WHERE m.id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(scores)),))}
        highlighter = parsed.highlighter
        results = []
        for rowid in scores:
            r = rows.get(rowid)
            if r is None:
                continue
            results.append(SearchResult(
                message_id=r[0], session_id=r[1], project_id=r[2], project_name=r[3], type=r[4],
                content_full=r[5], snippet=make_snippet(r[5], highlighter, highlight, snippet_chars),
                score=scores[rowid], timestamp=r[6], uuid=r[7], source=r[8], project_path=r[9]))
        return results

    # The original crate's entry points.
    def search_fts(self, query: str, limit: int = 20) -> list[SearchResult]:
        return self.search(query, limit=limit)

    def search_fts_with_project(self, query: str, limit: int, project_id: int | None) -> list[SearchResult]:
        return self.search(query, limit=limit, project_id=project_id)

    def search_fts_with_options(self, query: str, limit: int, project_id: int | None,
                                order_by: SearchOrder) -> list[SearchResult]:
        return self.search(query, limit=limit, project_id=project_id, order=order_by)

    def search_fts_full(self, query: str, limit: int, project_id: int | None, order_by: SearchOrder,
                        start_ts: int | None, end_ts: int | None) -> list[SearchResult]:
        return self.search(query, limit=limit, project_id=project_id, order=order_by, since=start_ts, until=end_ts)

