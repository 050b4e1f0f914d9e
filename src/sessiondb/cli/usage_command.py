"""usage: tokens and cost by day, week, month, session, project, model or source."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ConfigError
from ..models import UsageRow
from ..pricing import PriceTable, load_prices
from .common import EXIT_NOTHING, EXIT_OK, SOURCES, UserError, add_db_option, add_json_option, open_db, \
    resolve_project, resolve_session
from .output import Output
from .timeargs import BadDate, parse_when

GROUPS = ("day", "week", "month", "session", "project", "model", "source")
_KEY_TITLE = {"day": "date", "week": "week of", "month": "month", "session": "session", "project": "project",
              "model": "model", "source": "source"}
_TIME_HELP = "2026-01-31, 2026-01-31T09:30, 7d, 12h, today, yesterday"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "usage", help="tokens and cost by day, week, month, session, project, model or source",
        description="Tokens of every model call the agents recorded (input without cache, output, cache read, "
                    "cache write, reasoning), summed, with the cost from a dated price table per model.\n"
                    "Prices: the bundled table, with the models of ~/.config/sessiondb/prices.json or "
                    "$SESSIONDB_PRICES (or --prices FILE) added or replaced. A model without a price is shown "
                    "as \"no price\", never as $0.")
    p.add_argument("--by", choices=GROUPS, default="day", help="what each row sums")
    p.add_argument("--since", help=f"calls from this time: {_TIME_HELP}")
    p.add_argument("--until", help="calls up to this time (inclusive), same forms as --since")
    p.add_argument("--project", help="project id, path, name or part of its path (see `sessiondb projects`)")
    p.add_argument("--source", choices=SOURCES, help="only this tool's calls")
    p.add_argument("--session", help="only this session (its id or first characters)")
    p.add_argument("--utc", action="store_true", help="days, weeks and months in UTC instead of local time")
    p.add_argument("--prices", metavar="FILE", help="a price file to use on top of the bundled table")
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_usage)


def _time(value: str | None, option: str, *, end: bool = False) -> int | None:
    if value is None:
        return None
    try:
        return parse_when(value, end_of_day=end)
    except BadDate as exc:
        raise UserError(f"{option}: {exc}", f"use {_TIME_HELP}") from exc


def _prices(path: str | None) -> PriceTable:
    try:
        return load_prices(path)
    except ConfigError as exc:
        raise UserError(str(exc), "fix the file, or see `sessiondb usage --help` for its shape") from exc


def cmd_usage(args: argparse.Namespace, out: Output) -> int:
    since, until = _time(args.since, "--since"), _time(args.until, "--until", end=True)
    prices = _prices(args.prices)
    with open_db(args) as db:
        project = resolve_project(db, args.project) if args.project else None
        session = resolve_session(db, args.session) if args.session else None
        filters: dict[str, Any] = dict(since=since, until=until, project=project, source=args.source,
                                       session=session, utc=args.utc, prices=prices)
        rows = db.usage(by=args.by, **filters)
        total = db.usage(by="all", **filters)
    if out.as_json:
        out.json({"by": args.by, "prices": {"date": prices.date, "files": list(prices.files)}, "rows": rows,
                  "total": total[0] if total else None})
        return EXIT_OK if rows else EXIT_NOTHING
    if not rows:
        out.note("no token usage in this range" if any(v is not None for v in (since, until, project, args.source,
                                                                               session))
                 else "no token usage recorded yet: run `sessiondb collect`")
        return EXIT_NOTHING
    columns = (_KEY_TITLE[args.by], "sessions", "calls", "input", "output", "cache read", "cache write",
               "reasoning", "total", "cost")
    body = [_cells(_label(row, args.by, out), row) for row in rows]
    if total:
        body.append(_cells("total", total[0]))
    out.print(out.table(columns, body, right=columns[1:], styles={columns[0]: "bold", "cost": "green"},
                        cut=(columns[0],) if args.by in ("project", "session", "model") else ()))
    unpriced = sorted({m for row in rows for m in row.unpriced_models})
    if unpriced:
        out.note(f"no price for {', '.join(unpriced)}: their tokens are counted and not priced; "
                 "add them to ~/.config/sessiondb/prices.json")
    origin = f"prices of {prices.date}" if prices.date else "prices"
    out.note(origin + (f" with {', '.join(prices.files)}" if prices.files else "") + "; USD")
    return EXIT_OK


def _label(row: UsageRow, by: str, out: Output) -> str:
    if by == "session" and out.interactive and len(row.key) > 12:
        return row.key[:8]
    if by == "model":
        return row.key or "(no model)"
    return row.key


def _cells(label: str, row: UsageRow) -> list[str]:
    return [label, f"{row.sessions:,}", f"{row.requests:,}", f"{row.input_tokens:,}", f"{row.output_tokens:,}",
            f"{row.cache_read_tokens:,}", f"{row.cache_write_tokens:,}", f"{row.reasoning_tokens:,}",
            f"{row.total_tokens:,}", cost_text(row)]


def cost_text(row: UsageRow) -> str:
    """``$1.23``; ``$1.23 + no price`` when some calls have none; ``no price`` when none has."""
    if row.cost is None:
        return "no price"
    text = f"${row.cost:,.2f}" if row.cost >= 0.005 or row.cost == 0 else "<$0.01"
    return text + (" + no price" if row.unpriced_tokens else "")

