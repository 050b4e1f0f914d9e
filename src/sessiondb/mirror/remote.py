"""Reading the PostgreSQL mirror: :class:`RemoteArchive`, every machine as one archive.

``RemoteArchive`` is a read-only handle with the read methods of
:class:`sessiondb.SessionDB` that the commands and most programs use (``search``,
``list_projects``, ``get_sessions``, ``get_session``, ``list_messages``, ...), with the
same names, arguments and return types, so code written for a local database reads the
mirror unchanged. It is its own class rather than a ``SessionDB`` because it has none of
the writing, coordination or collecting side, and because it answers questions a
local file cannot (``machines()``, a ``machine=`` filter).

Ids: ``Project.id``, ``Session.id`` and ``SearchResult.message_id`` are the mirror's
own ids, unique across machines (the SQLite ids of two machines collide).
"""

from __future__ import annotations

# Loaded lazily, maybe while another thread imports typing: finish it before any dataclass.
import typing  # noqa: F401

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import InvalidArgument
from ..models import (ApprovalStatus, Message, MessageType, Project, ProjectWithStats, SearchOrder, SearchResult,
                      Session, SessionOverview, Stats, VectorIndexState)
from ..search.engine import _role, _to_ms
from ..search.snippet import DEFAULT_HIGHLIGHT, DEFAULT_SNIPPET_CHARS, make_snippet
from ..search.query import parse_query
from ..search.ranking import B, K1, idf
from ..store import validate
from ..store.sessions import overview_from_row
from . import schema
from .connection import MirrorError, connect, describe, psycopg_module, redact
from .text import query_sql, query_tsquery, term_needle

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from psycopg.rows import TupleRow

    from ..search.query import ParsedQuery

# Score order ranks the newest matches, as the local search's window does.
RANK_WINDOW = 500
# Newest rows read to estimate how many messages match (and each term's weight).
SAMPLE_ROWS = 2000
# A project / session filter of at most this many messages: read only those.
SMALL_FILTER = 20_000
# Fetching a match through the trigram index costs about this many in-order row tests.
SCAN_COST_RATIO = 2.0
_MAX_CHAR = "\U0010ffff"

_PROJECT = "p.id, p.name, p.path, p.source, p.encoded_dir_name, p.created_at, p.updated_at"
_SESSION = ("s.id, s.session_id, s.project_id, s.message_count, s.last_message_at, s.cwd, s.model, s.channel, "
            "s.file_mtime, s.file_size, s.meta, s.created_at, s.updated_at")
# The columns of store.sessions.overview_from_row, from one session row of the mirror.
_OVERVIEW = (
    "SELECT s.session_id, s.project_id, p.name, p.path, "
    "COALESCE((SELECT m.source FROM messages m WHERE m.machine = s.machine AND m.session_id = s.session_id "
    "LIMIT 1), p.source), s.meta, "
    "(SELECT count(*) FROM messages m WHERE m.machine = s.machine AND m.session_id = s.session_id), "
    "(SELECT min(m.timestamp) FROM messages m WHERE m.machine = s.machine AND m.session_id = s.session_id), "
    "(SELECT max(m.timestamp) FROM messages m WHERE m.machine = s.machine AND m.session_id = s.session_id), "
    "(SELECT m.content_text FROM messages m WHERE m.machine = s.machine AND m.session_id = s.session_id "
    "AND m.type = 'user' AND btrim(m.content_text) <> '' ORDER BY m.sequence, m.local_id LIMIT 1), "
    "s.model, s.cwd FROM sessions s LEFT JOIN projects p ON p.id = s.project_id")
_MESSAGE = ("m.id, m.session_id, m.uuid, m.type, m.content_text, m.content_full, m.timestamp, m.sequence, "
            "m.source, m.channel, m.model, m.tool_call_id, m.tool_name, m.tool_args, m.raw, m.approval_status, "
            "m.approval_resolved_at")


@dataclass(frozen=True, slots=True)
class MachineInfo:
    """A machine that syncs into the mirror."""

    machine: str
    database_path: str | None
    messages_high_water: int
    first_synced_at: int | None
    last_synced_at: int | None
    sessiondb_version: str | None
    message_count: int


class RemoteArchive:
    """A read-only view of the mirror at ``url`` (``postgresql://...``)."""

    def __init__(self, url: str) -> None:
        self._psycopg = psycopg_module()
        self.url = url
        self._conn = connect(url, autocommit=True)
        try:
            if schema.current_version(self._conn) < 1:
                raise MirrorError(f"{redact(url)} holds no sessiondb mirror yet; "
                                  "run `sessiondb sync --to URL` on a machine first")
        except self._psycopg.Error as exc:
            self._conn.close()
            raise MirrorError(describe(exc, url)) from None
        except BaseException:
            self._conn.close()
            raise

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def connect(cls, url: str) -> "RemoteArchive":
        return cls(url)

    @property
    def path(self) -> str:
        """Where the archive is (the URL without its password)."""
        return redact(self.url)

    read_only = True

    @property
    def closed(self) -> bool:
        return self._conn.closed

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "RemoteArchive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RemoteArchive {self.path}{' (closed)' if self.closed else ''}>"

    def _rows(self, sql: str, params: tuple[object, ...] | list[object] = ()) -> list[TupleRow]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except self._psycopg.Error as exc:
            raise MirrorError(describe(exc, self.url)) from None

    def _one(self, sql: str, params: tuple[object, ...] | list[object] = ()) -> TupleRow | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _aggregate(self, sql: str, params: tuple[object, ...] | list[object] = ()) -> TupleRow:
        """The row of an aggregate query (``count(*)`` and the like), which always has one."""
        row = self._one(sql, params)
        if row is None:
            raise MirrorError(f"the mirror returned no row for an aggregate query ({redact(self.url)})")
        return row

    # ------------------------------------------------------------------ machines and stats
    def machines(self) -> list[MachineInfo]:
        rows = self._rows(
            "SELECT k.machine, k.database_path, k.messages_high_water, k.first_synced_at, k.last_synced_at, "
            "k.sessiondb_version, (SELECT count(*) FROM messages m WHERE m.machine = k.machine) "
            "FROM machines k ORDER BY k.machine")
        return [MachineInfo(*r) for r in rows]

    def get_stats(self, machine: str | None = None) -> Stats:
        where, params = ("WHERE machine = %s", (machine,)) if machine else ("", ())
        counts = [self._aggregate(f"SELECT count(*) FROM {table} {where}", params)[0]
                  for table in ("projects", "sessions", "messages")]
        return Stats(*counts)

    # ------------------------------------------------------------------ projects
    def list_projects(self, machine: str | None = None) -> list[Project]:
        where, params = ("WHERE p.machine = %s", (machine,)) if machine else ("", ())
        return [Project(*r) for r in self._rows(
            f"SELECT {_PROJECT} FROM projects p {where} ORDER BY p.updated_at DESC, p.id DESC", params)]

    def list_projects_with_stats(self, limit: int | None = 100, offset: int = 0,
                                 machine: str | None = None) -> list[ProjectWithStats]:
        where, params = ("WHERE p.machine = %s", [machine]) if machine else ("", [])
        rows = self._rows(
            "SELECT p.id, p.name, p.path, p.source, count(s.id), COALESCE(sum(s.message_count), 0), "
            "max(COALESCE(s.last_message_at, s.updated_at)) AS last_active "
            f"FROM projects p LEFT JOIN sessions s ON s.project_id = p.id {where} GROUP BY p.id "
            "ORDER BY last_active DESC NULLS LAST, p.id DESC LIMIT %s OFFSET %s",
            [*params, _limit(limit), validate.integer("offset", offset, minimum=0)])
        return [ProjectWithStats(r[0], r[1], r[2], r[3] or "", r[4], int(r[5]), r[6]) for r in rows]

    def get_project(self, project_id: int) -> Project | None:
        row = self._one(f"SELECT {_PROJECT} FROM projects p WHERE p.id = %s",
                        (validate.integer("project_id", project_id),))
        return Project(*row) if row else None

    def get_project_by_path(self, path: str, machine: str | None = None) -> Project | None:
        """The project at ``path`` (on ``machine``, else the most recently updated one)."""
        where, params = ("AND p.machine = %s", [machine]) if machine else ("", [])
        row = self._one(f"SELECT {_PROJECT} FROM projects p WHERE p.path = %s {where} "
                        "ORDER BY p.updated_at DESC, p.id DESC LIMIT 1",
                        [validate.text("path", path, allow_empty=True), *params])
        return Project(*row) if row else None

    def project_machine(self, project_id: int) -> str | None:
        row = self._one("SELECT machine FROM projects WHERE id = %s", (validate.integer("project_id", project_id),))
        return row[0] if row else None

    # ------------------------------------------------------------------ sessions
    def get_sessions(self, project_id: int | None = None, limit: int | None = 100,
                     machine: str | None = None) -> list[Session]:
        """Most recently updated sessions, optionally of one project or one machine."""
        where: list[str] = []
        params: list[object] = []
        if project_id is not None:
            where.append("s.project_id = %s")
            params.append(validate.integer("project_id", project_id))
        if machine:
            where.append("s.machine = %s")
            params.append(machine)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        rows = self._rows(f"SELECT {_SESSION} FROM sessions s {clause} ORDER BY s.updated_at DESC, s.id DESC "
                          "LIMIT %s", [*params, _limit(limit)])
        return [Session(*r) for r in rows]

    def list_session_overviews(self, *, project_id: int | None = None, source: str | None = None,
                               parent_session_id: str | None = None, limit: int | None = 50,
                               offset: int = 0, machine: str | None = None) -> list[SessionOverview]:
        """Sessions with title, source, counts and first/last time, as ``SessionDB`` lists them."""
        where: list[str] = []
        params: list[Any] = []
        if project_id is not None:
            where.append("s.project_id = %s")
            params.append(validate.integer("project_id", project_id))
        if source is not None:
            where.append("p.source = %s")
            params.append(validate.text("source", source))
        if parent_session_id is not None:
            where.append("s.meta LIKE %s")
            params.append(f"%{validate.text('parent_session_id', parent_session_id)}%")
        if machine:
            where.append("s.machine = %s")
            params.append(machine)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        rows = self._rows(f"{_OVERVIEW} {clause} ORDER BY s.last_message_at DESC NULLS LAST, s.id DESC "
                          "LIMIT %s OFFSET %s",
                          [*params, _limit(limit), validate.integer("offset", offset, minimum=0)])
        found = [overview_from_row(tuple(r)) for r in rows]
        if parent_session_id is not None:   # the LIKE above only narrows; the link decides
            found = [o for o in found if o.parent_session_id == parent_session_id]
        return found

    def get_session_overview(self, session_id: str) -> SessionOverview | None:
        row = self._one(f"{_OVERVIEW} WHERE s.session_id = %s ORDER BY s.updated_at DESC, s.id DESC LIMIT 1",
                        (validate.text("session_id", session_id, allow_empty=True),))
        return overview_from_row(tuple(row)) if row else None

    def list_sessions(self, project_id: int) -> list[Session]:
        return self.get_sessions(project_id, limit=None)

    def get_session(self, session_id: str) -> Session | None:
        row = self._one(f"SELECT {_SESSION} FROM sessions s WHERE s.session_id = %s "
                        "ORDER BY s.updated_at DESC, s.id DESC LIMIT 1",
                        (validate.text("session_id", session_id, allow_empty=True),))
        return Session(*row) if row else None

    def session_machine(self, session_id: str) -> str | None:
        row = self._one("SELECT machine FROM sessions WHERE session_id = %s ORDER BY updated_at DESC LIMIT 1",
                        (validate.text("session_id", session_id, allow_empty=True),))
        return row[0] if row else None

    def session_exists(self, session_id: str) -> bool:
        return self.get_session(session_id) is not None

    def search_sessions_by_prefix(self, prefix: str, limit: int | None = 20) -> list[Session]:
        prefix = validate.text("prefix", prefix)
        rows = self._rows(f"SELECT {_SESSION} FROM sessions s WHERE s.session_id >= %s AND s.session_id < %s "
                          "ORDER BY s.updated_at DESC, s.id DESC LIMIT %s",
                          (prefix, prefix + _MAX_CHAR, _limit(limit)))
        return [Session(*r) for r in rows]

    def resolve_session_id(self, prefix: str) -> str | None:
        found = self.search_sessions_by_prefix(prefix, 1)
        return found[0].session_id if found else None

    def get_session_message_count(self, session_id: str) -> int:
        machine = self.session_machine(session_id)
        row = self._one("SELECT count(*) FROM messages WHERE machine = %s AND session_id = %s",
                        (machine, session_id))
        return row[0] if row else 0

    # ------------------------------------------------------------------ messages
    def list_messages(self, session_id: str, limit: int | None = None, offset: int = 0) -> list[Message]:
        """The session's messages in file order (sequence, then id), as the local handle lists them."""
        sid = validate.text("session_id", session_id, allow_empty=True)
        machine = self.session_machine(sid)
        rows = self._rows(f"SELECT {_MESSAGE} FROM messages m WHERE m.machine = %s AND m.session_id = %s "
                          "ORDER BY m.sequence, m.local_id LIMIT %s OFFSET %s",
                          (machine, sid, _limit(limit), validate.integer("offset", offset, minimum=0)))
        return [_message(r) for r in rows]

    # ------------------------------------------------------------------ search
    def search(self, query: str, *, limit: int = 20, offset: int = 0, project_id: int | None = None,
               source: str | None = None, role: MessageType | str | None = None,
               since: int | datetime | None = None, until: int | datetime | None = None,
               session_prefix: str | None = None, order: SearchOrder = SearchOrder.SCORE,
               highlight: tuple[str, str] = DEFAULT_HIGHLIGHT, snippet_chars: int = DEFAULT_SNIPPET_CHARS,
               machine: str | None = None) -> list[SearchResult]:
        """Search every machine's messages, with the local query language and filters.

        The hits are the local search's (same matching rules); ``newest``/``oldest``
        are exact; ``score`` ranks the newest matches with BM25 like the local window.
        """
        limit = validate.integer("limit", limit, minimum=0)
        offset = validate.integer("offset", offset, minimum=0)
        order = SearchOrder(order)
        if not (isinstance(highlight, tuple) and len(highlight) == 2 and all(isinstance(h, str) for h in highlight)):
            raise InvalidArgument("highlight must be a pair of strings (opening, closing)")
        parsed = parse_query(query)
        if parsed.is_empty or limit == 0:
            return []
        filter_sql, filter_params = self._filters(project_id, source, _role(role), _to_ms("since", since),
                                                  _to_ms("until", until),
                                                  validate.optional_text("session_prefix", session_prefix),
                                                  validate.optional_text("machine", machine))
        need = offset + limit
        window = max(RANK_WINDOW, need) if order is SearchOrder.SCORE else need
        plan = self._plan(parsed, filter_sql, filter_params, project_id, session_prefix, window)
        self.last_search_plans = (plan.name,)
        match_sql, match_params = query_sql(parsed)
        if plan.name == "index":
            # Few candidates: those from the GIN index first (every token of a term present),
            # then the exact test, the filters and the order.
            source_sql = ("FROM (SELECT x.id FROM messages x WHERE x.search_vector @@ %s::tsquery "
                          "OR x.search_vector IS NULL OFFSET 0) hits JOIN messages m ON m.id = hits.id")
            params = [query_tsquery(parsed), *match_params, *filter_params]
        else:
            # Many matches, or a small project/session: walk an index in order, test each row.
            source_sql = "FROM messages m"
            params = [*match_params, *filter_params]
        if any(sql.startswith(("s.", "(m.source")) for sql in filter_sql):
            source_sql += (" LEFT JOIN sessions s ON s.machine = m.machine AND s.session_id = m.session_id "
                           "LEFT JOIN projects p ON p.id = s.project_id")
        where = " AND ".join([match_sql, *filter_sql])
        # First the ids (only the token text is read), then the rows shown.
        if order is SearchOrder.SCORE:
            ids = self._rows(f"SELECT m.id {source_sql} WHERE {where} ORDER BY m.id DESC LIMIT %s",
                             [*params, window])
            ranked = self._ranked(parsed, plan.sample, [r[0] for r in ids])[offset:offset + limit]
        else:
            direction = "ASC" if order is SearchOrder.TIME_ASC else "DESC"
            ranked = [(r[0], 0.0) for r in self._rows(
                f"SELECT m.id {source_sql} WHERE {where} ORDER BY m.timestamp {direction}, "
                f"m.machine {direction}, m.local_id {direction} LIMIT %s OFFSET %s", [*params, limit, offset])]
        rows = {r[0]: r for r in self._rows(
            "SELECT m.id, m.session_id, s.project_id, p.name, m.type, m.content_full, m.timestamp, m.uuid, "
            "m.source, p.path FROM messages m "
            "LEFT JOIN sessions s ON s.machine = m.machine AND s.session_id = m.session_id "
            "LEFT JOIN projects p ON p.id = s.project_id WHERE m.id = ANY(%s)", ([i for i, _ in ranked],))}
        highlighter = parsed.highlighter
        results = []
        for message_id, score in ranked:
            r = rows.get(message_id)
            if r is None:
                continue
            results.append(SearchResult(
                message_id=r[0], session_id=r[1], project_id=r[2], project_name=r[3] or "", type=r[4],
                content_full=r[5], snippet=make_snippet(r[5], highlighter, highlight, snippet_chars),
                score=score, timestamp=r[6], uuid=r[7], source=r[8], project_path=r[9] or ""))
        return results

    def _filters(self, project_id: int | None, source: str | None, role: str | None, since: int | None,
                 until: int | None, session_prefix: str | None, machine: str | None
                 ) -> tuple[list[str], list[object]]:
        sql: list[str] = []
        params: list[object] = []
        if project_id is not None:
            sql.append("s.project_id = %s")
            params.append(validate.integer("project_id", project_id))
        if machine:
            sql.append("m.machine = %s")
            params.append(machine)
        if session_prefix:
            sql.append("m.session_id >= %s AND m.session_id < %s")
            params += [session_prefix, session_prefix + _MAX_CHAR]
        if role is not None:
            sql.append("m.type = %s")
            params.append(role)
        if since is not None:
            sql.append("m.timestamp >= %s")
            params.append(since)
        if until is not None:
            sql.append("m.timestamp <= %s")
            params.append(until)
        if source is not None:
            sql.append("(m.source = %s OR (m.source IS NULL AND p.source = %s))")
            params += [source, source]
        return sql, params

    # Plans chosen by the last search on this handle (for tests and benchmarks).
    last_search_plans: tuple[str, ...] = ()

    def _plan(self, parsed: ParsedQuery, filter_sql: list[str], filter_params: list[object], project_id: int | None,
              session_prefix: str | None, window: int) -> "_Plan":
        """Estimate from the newest rows how dense the matches are, and pick how to find them.

        ``index`` fetches every candidate through the GIN index (cheap when they are few);
        ``scan`` walks the rows in order and stops after ``window`` matches (cheap when they
        are many); ``filter`` reads only a small project's or session's messages.
        """
        sample = self._sample(parsed, filter_sql, filter_params)
        if project_id is not None or session_prefix:
            where: list[str] = []
            params: list[object] = []
            if project_id is not None:
                where.append("project_id = %s")
                params.append(project_id)
            if session_prefix:
                where.append("session_id >= %s AND session_id < %s")
                params += [session_prefix, session_prefix + _MAX_CHAR]
            row = self._one(f"SELECT COALESCE(sum(message_count), 0) FROM sessions WHERE {' AND '.join(where)}",
                            params)
            if row and row[0] <= SMALL_FILTER:
                return _Plan("filter", sample)
        density = sample.matches / max(sample.rows, 1)
        candidates = max(sample.candidates, sample.matches) / max(sample.rows, 1)
        rows_to_scan = window / density if density else float("inf")
        if rows_to_scan < SCAN_COST_RATIO * candidates * sample.documents:
            return _Plan("scan", sample)
        return _Plan("index", sample)

    def _sample(self, parsed: ParsedQuery, filter_sql: list[str], filter_params: list[object]) -> "_Sample":
        """Matches among the newest ``SAMPLE_ROWS`` messages, per term too (for the weights)."""
        terms = [t for clause in parsed.positive for t in clause.terms]
        match_sql, match_params = query_sql(parsed)
        counts = [f"count(*) FILTER (WHERE {' AND '.join([match_sql, *filter_sql])})",
                  "count(*) FILTER (WHERE m.search_vector @@ %s::tsquery OR m.search_vector IS NULL)"]
        params: list[object] = [*match_params, *filter_params, query_tsquery(parsed)]
        for term in terms:
            counts.append("count(*) FILTER (WHERE strpos(m.search_text, %s) > 0)")
            params.append(term_needle(term))
        row = self._aggregate(
            f"SELECT count(*), COALESCE(avg(m.token_count), 1), {', '.join(counts)}, "
            "(SELECT COALESCE(max(id), 0) FROM messages) "
            "FROM (SELECT * FROM messages ORDER BY id DESC LIMIT %s) m "
            "LEFT JOIN sessions s ON s.machine = m.machine AND s.session_id = m.session_id "
            "LEFT JOIN projects p ON p.id = s.project_id", [*params, SAMPLE_ROWS])
        rows, average, matches, candidates, *per_term, documents = row
        scale = max(documents, rows, 1) / max(rows, 1)
        return _Sample(rows, float(average) or 1.0, matches, candidates, [round(n * scale) for n in per_term],
                       max(documents, rows, 1))

    def _ranked(self, parsed: ParsedQuery, sample: "_Sample", ids: list[int]) -> list[tuple[int, float]]:
        """(id, BM25 score) of the given matches, best first; ties go to the newer row."""
        if not ids:
            return []
        terms = [t for clause in parsed.positive for t in clause.terms]
        weights = [1.0] if len(terms) == 1 else [idf(sample.documents, n) for n in sample.term_documents]
        tf_sql, tf_params = [], []
        for term, weight in zip(terms, weights):
            needle = term_needle(term)
            tf = "((length(m.search_text) - length(replace(m.search_text, %s, ''))) / %s)::float8"
            norm = f"({K1 * (1 - B)} + {K1 * B / sample.average_tokens} * m.token_count)"
            tf_sql.append(f"(%s * {tf} * {K1 + 1} / ({tf} + {norm}))")
            tf_params += [weight, needle, max(len(needle), 1), needle, max(len(needle), 1)]
        score = "-(" + " + ".join(tf_sql) + ")"
        rows = self._rows(f"SELECT m.id, {score} AS score FROM messages m WHERE m.id = ANY(%s) "
                          "ORDER BY score, m.id DESC", [*tf_params, ids])
        return [(r[0], float(r[1])) for r in rows]


@dataclass(frozen=True, slots=True)
class _Sample:
    rows: int                   # rows sampled (the newest)
    average_tokens: float
    matches: int                # sampled rows matching the query and the filters
    candidates: int             # sampled rows the GIN index would return
    term_documents: list[int]   # estimated matches of each positive term in the whole mirror
    documents: int              # estimated messages in the mirror


@dataclass(frozen=True, slots=True)
class _Plan:
    name: str
    sample: _Sample


def _limit(value: int | None) -> int | None:
    """A limit for PostgreSQL: None (no limit) where SQLite takes -1."""
    n = validate.limit(value)
    return None if n < 0 else n


def _message(row: TupleRow) -> Message:
    return Message(row[0], row[1], row[2], MessageType.from_db(row[3]), row[4], row[5], row[6], row[7], row[8],
                   row[9], row[10], row[11], row[12], row[13], row[14], VectorIndexState.NOT_INDEXED,
                   ApprovalStatus.from_db(row[15]), row[16])
