"""Token usage rows (table ``usage``): written at ingest, summed for reports.

One row per model call, unique on ``(source, usage_key)``. The sources make the key
so that the same call read again (a streamed response's chunks, a replayed or copied
line, an appended file read from the start after a rewrite) has the same key; the
write keeps, per key, the row with the largest total and touches nothing when the
counts it is given are not larger. So a warm rescan writes nothing, and reading a
growing response again only updates its one row.

:meth:`Usage.usage` sums the rows by day, week, month, session, project, model or
source and prices them with a :class:`~sessiondb.pricing.PriceTable`.
"""

from __future__ import annotations

from ..errors import InvalidArgument
from ..models import UsageRow

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    import apsw

    from ..pricing import PriceTable
    from .core import Store

# The columns of a row as the collector hands them over.
USAGE_COLUMNS = ("source, usage_key, session_id, message_uuid, request_id, model, timestamp, input_tokens, "
                 "output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, reported_cost")
_TOTAL = "{0}.input_tokens + {0}.output_tokens + {0}.cache_read_tokens + {0}.cache_write_tokens + {0}.reasoning_tokens"
_UPSERT = (
    f"INSERT INTO usage({USAGE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT(source, usage_key) DO UPDATE SET session_id = excluded.session_id, "
    "message_uuid = excluded.message_uuid, request_id = excluded.request_id, "
    "model = COALESCE(excluded.model, usage.model), timestamp = excluded.timestamp, "
    "input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, "
    "cache_read_tokens = excluded.cache_read_tokens, cache_write_tokens = excluded.cache_write_tokens, "
    "reasoning_tokens = excluded.reasoning_tokens, reported_cost = COALESCE(excluded.reported_cost, usage.reported_cost) "
    f"WHERE {_TOTAL.format('excluded')} > {_TOTAL.format('usage')} "
    f"OR ({_TOTAL.format('excluded')} = {_TOTAL.format('usage')} AND excluded.reported_cost IS NOT NULL "
    "AND (usage.reported_cost IS NULL OR excluded.reported_cost > usage.reported_cost))")

GROUPINGS = ("day", "week", "month", "session", "project", "model", "source", "all")


def write_usage(conn: apsw.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert or grow the given rows (inside the caller's write transaction); returns how
    many rows changed."""
    if not rows:
        return 0
    before = conn.total_changes()
    try:
        conn.executemany(_UPSERT, rows)
    except UnicodeEncodeError:
        conn.executemany(_UPSERT, [tuple(_encodable(v) for v in row) for row in rows])
    return int(conn.total_changes() - before)


def _bucket(by: str, utc: bool) -> str:
    zone = "" if utc else ", 'localtime'"
    seconds = "u.timestamp / 1000, 'unixepoch'" + zone
    return {
        "day": f"date({seconds})",
        "week": f"date({seconds}, '-6 days', 'weekday 1')",
        "month": f"strftime('%Y-%m', {seconds})",
        "session": "u.session_id",
        "project": "COALESCE(p.path, '')",
        "model": "COALESCE(u.model, '')",
        "source": "u.source",
        "all": "'all'",
    }[by]


class Usage:
    """The ``usage`` part of a ``SessionDB``: reports over the stored token counts."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._prices: PriceTable | None = None

    def usage(self, by: str = "day", *, since: int | None = None, until: int | None = None,
              project: int | str | None = None, source: str | None = None, session: str | None = None,
              utc: bool = False, prices: PriceTable | str | None = None) -> list[UsageRow]:
        """Tokens and cost summed ``by`` ``day`` (local dates, ``utc=True`` for UTC),
        ``week`` (from Monday), ``month``, ``session``, ``project``, ``model`` or ``source``
        (or ``all``: one row of totals, key ``all``), dates oldest first, the others
        costliest first. ``since``/``until`` are epoch ms (inclusive); ``project``
        a project id or path; ``source`` an agent name; ``session`` one session id.

        ``cost`` is priced per model from ``prices`` (a :class:`~sessiondb.pricing.PriceTable`
        or the path of a JSON price file), else the bundled table merged with the user's
        file (see :func:`sessiondb.pricing.load_prices`). Calls of a model without a price
        are not priced as zero: they are counted in ``unpriced_tokens`` and named in
        ``unpriced_models``, and a row with no priced call at all has ``cost`` None.
        """
        if by not in GROUPINGS:
            raise InvalidArgument(f"by must be one of {', '.join(GROUPINGS)}, not {by!r}")
        table = self._price_table(prices)
        if not self._store.read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage'"):
            return []   # a file of an older version opened read-only: no usage collected yet
        where, params = self._filters(since, until, project, source, session)
        sql = (f"SELECT {_bucket(by, utc)} AS bucket, u.model, u.session_id, COUNT(*), SUM(u.input_tokens), "
               "SUM(u.output_tokens), SUM(u.cache_read_tokens), SUM(u.cache_write_tokens), SUM(u.reasoning_tokens), "
               "SUM(u.reported_cost), COUNT(u.reported_cost), MIN(u.timestamp), MAX(u.timestamp) "
               "FROM usage AS u LEFT JOIN sessions AS s ON s.session_id = u.session_id "
               f"LEFT JOIN projects AS p ON p.id = s.project_id {where} GROUP BY bucket, u.model, u.session_id")
        return _rows(self._store.read(sql, params), table, by)

    def _price_table(self, prices: PriceTable | str | None) -> PriceTable:
        from ..pricing import PriceTable, load_prices   # loaded on first use (see sessiondb._startup)

        if isinstance(prices, PriceTable):
            return prices
        if prices is not None:
            return load_prices(prices)
        if self._prices is None:
            self._prices = load_prices()
        return self._prices

    @staticmethod
    def _filters(since: int | None, until: int | None, project: int | str | None, source: str | None,
                 session: str | None) -> tuple[str, tuple[Any, ...]]:
        clauses: list[str] = []
        params: list[Any] = []
        for value, clause in ((since, "u.timestamp >= ?"), (until, "u.timestamp <= ?")):
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise InvalidArgument("since and until are epoch milliseconds (int)")
                clauses.append(clause)
                params.append(value)
        if project is not None:
            if isinstance(project, bool) or not isinstance(project, (int, str)):
                raise InvalidArgument("project is a project id or path")
            clauses.append("s.project_id = ?" if isinstance(project, int) else "p.path = ?")
            params.append(project)
        if source is not None:
            clauses.append("u.source = ?")
            params.append(source)
        if session is not None:
            clauses.append("u.session_id = ?")
            params.append(session)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


class _Sum:
    __slots__ = ("requests", "sessions", "models", "unpriced", "counts", "cost", "priced", "unpriced_tokens",
                 "reported", "first", "last")

    def __init__(self) -> None:
        self.requests = 0
        self.sessions: set[str] = set()
        self.models: set[str] = set()
        self.unpriced: set[str] = set()
        self.counts = [0, 0, 0, 0, 0]
        self.cost = 0.0
        self.priced = False
        self.unpriced_tokens = 0
        self.reported: float | None = None
        self.first: int | None = None
        self.last: int | None = None


def _rows(groups: Iterable[Sequence[Any]], table: PriceTable, by: str) -> list[UsageRow]:
    sums: dict[str, _Sum] = {}
    for bucket, model, session_id, requests, *rest in groups:
        counts = [int(v or 0) for v in rest[:5]]
        reported, reported_count, first, last = rest[5:]
        entry = sums.setdefault(str(bucket or ""), _Sum())
        entry.requests += int(requests)
        entry.sessions.add(session_id)
        name = model or ""
        entry.models.add(name)
        entry.counts = [a + b for a, b in zip(entry.counts, counts)]
        price = table.price(model)
        if price is not None:
            entry.cost += price.cost(*counts)
            entry.priced = True
        elif reported_count == requests and reported and reported > 0:
            # No price of ours: the agent's own figure. A reported 0 is not taken: agents
            # report 0 for models whose price they do not know.
            entry.cost += float(reported)
            entry.priced = True
        else:
            entry.unpriced.add(name or "(unknown model)")
            entry.unpriced_tokens += sum(counts)
        if reported_count:
            entry.reported = (entry.reported or 0.0) + float(reported)
        entry.first = first if entry.first is None else min(entry.first, first)
        entry.last = last if entry.last is None else max(entry.last, last)
    out = []
    for key, entry in sums.items():
        input_tokens, output, cache_read, cache_write, reasoning = entry.counts
        out.append(UsageRow(key=key, requests=entry.requests, sessions=len(entry.sessions),
                            models=tuple(sorted(m for m in entry.models if m)), input_tokens=input_tokens,
                            output_tokens=output, cache_read_tokens=cache_read, cache_write_tokens=cache_write,
                            reasoning_tokens=reasoning, total_tokens=sum(entry.counts),
                            cost=round(entry.cost, 6) if entry.priced else None,
                            unpriced_models=tuple(sorted(entry.unpriced)), unpriced_tokens=entry.unpriced_tokens,
                            reported_cost=round(entry.reported, 6) if entry.reported is not None else None,
                            first_at=entry.first, last_at=entry.last))
    if by in ("day", "week", "month"):
        out.sort(key=lambda r: r.key)
    else:
        out.sort(key=lambda r: (-(r.cost or 0.0), -r.total_tokens, r.key))
    return out


def _encodable(value: object) -> object:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value
