"""Search text for the mirror, and the local query language translated to SQL over it.

Locally a message matches by the token rules of the CJK side index (a token is one
CJK character or a run of other letters and digits, folded like unicode61 folds; see
:mod:`sessiondb.search.query`). The mirror stores those tokens per message as
``search_text`` = ``" tok tok tok "``; a term of tokens ``a b`` then matches exactly
when ``search_text`` contains ``" a b "`` (``" a b"`` for a prefix), so the query
translates to ``LIKE`` patterns that a ``pg_trgm`` GIN index answers, with the same
hits as the local search.
"""

from __future__ import annotations

import functools
import re

from ..search.cjk_index import CJK_RANGES, has_cjk
from ..search.query import Clause, ParsedQuery, Term, fold

_CJK = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in CJK_RANGES)


@functools.cache
def _token() -> re.Pattern[str]:
    return re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")


def tokens(text: str) -> list[str]:
    """The folded tokens of ``text``, as the local search matches them."""
    return _token().findall(fold(text))


def search_text(text: str) -> tuple[str, int]:
    """(``" tok tok "``, number of tokens) for a message's ``content_full``."""
    found = tokens(text)
    return (" " + " ".join(found) + " ") if found else " ", len(found)


def term_pattern(term: Term) -> str:
    """The ``LIKE`` pattern of one word or phrase (tokens never contain ``%``, ``_`` or ``\\``)."""
    parts = [fold(t) for t in _token().findall(term.text)]
    parts = [p for part in parts for p in _token().findall(part)]  # folding may split a token
    body = " " + " ".join(parts)
    prefix = term.prefix and not has_cjk(parts[-1])
    return "%" + body + ("%" if prefix else " %")


def term_needle(term: Term) -> str:
    """The substring a match contains (for counting occurrences when ranking)."""
    return term_pattern(term).strip("%")


def clause_sql(clause: Clause, column: str) -> tuple[str, list[str]]:
    parts, params = [], []
    for term in clause.terms:
        parts.append(f"{column} LIKE %s")
        params.append(term_pattern(term))
    sql = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    return (f"NOT {sql}" if clause.negated else sql), params


def query_sql(parsed: ParsedQuery, column: str = "m.search_text") -> tuple[str, list[str]]:
    """A WHERE condition (and its parameters) true for exactly the matching messages."""
    pieces, params = [], []
    for clause in parsed.clauses:
        sql, values = clause_sql(clause, column)
        pieces.append(sql)
        params += values
    return " AND ".join(pieces) if pieces else "FALSE", params
