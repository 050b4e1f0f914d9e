"""Search text for the mirror, and the local query language translated to SQL over it.

Locally a message matches by the token rules of the CJK side index (a token is one
CJK character or a run of other letters and digits, folded like unicode61 folds; see
:mod:`sessiondb.search.query`). The mirror stores those tokens per message as
``search_text`` = ``" tok tok tok "``; a term of tokens ``a b`` then matches exactly
when ``search_text`` contains ``" a b "`` (``" a b"`` for a prefix), which ``strpos``
decides, with the same hits as the local search. The distinct tokens are also a
``tsvector`` (``search_vector``): a tsquery of the terms' tokens narrows the rows
through its GIN index before ``strpos`` looks at them.
"""

from __future__ import annotations

import functools
import re

from ..store.cjk_index import CJK_RANGES, has_cjk
from ..search.query import Clause, ParsedQuery, Term, fold

_CJK = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in CJK_RANGES)


@functools.cache
def _token() -> re.Pattern[str]:
    return re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")


_ASCII_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """The folded tokens of ``text``, as the local search matches them."""
    if text.isascii():  # the common case, with a small character class
        return _ASCII_TOKEN.findall(text.lower())
    return _token().findall(fold(text))


# A tsvector holds at most 1 MB; beyond this many bytes of lexemes a message gets none.
MAX_VECTOR_BYTES = 900_000
# A lexeme holds at most 2 KB: longer tokens (base64, hashes) are cut to this many
# characters, in the vector and in queries alike, so the index still finds them.
MAX_LEXEME_CHARS = 500


def search_text(text: str) -> tuple[str, str | None, int]:
    """(``" tok tok "``, the tsvector literal of its distinct tokens or None, token count)."""
    found = tokens(text)
    if not found:
        return " ", "", 0
    distinct = {t[:MAX_LEXEME_CHARS] for t in found}
    if sum(len(t) for t in distinct) * 2 + 8 * len(distinct) > MAX_VECTOR_BYTES:
        vector = None
    else:
        vector = " ".join(f"'{t}'" for t in distinct)   # tokens are letters and digits: no quoting needed
    return " " + " ".join(found) + " ", vector, len(found)


def term_tokens(term: Term) -> list[str]:
    parts = [fold(t) for t in _token().findall(term.text)]
    return [p for part in parts for p in _token().findall(part)]  # folding may split a token


def term_needle(term: Term) -> str:
    """The substring of ``search_text`` that is a match (``" a b "``; ``" a b"`` for a prefix)."""
    parts = term_tokens(term)
    prefix = term.prefix and not has_cjk(parts[-1])
    return " " + " ".join(parts) + ("" if prefix else " ")


def term_tsquery(term: Term) -> str:
    """The index condition of a term: each of its tokens present (the last as a prefix)."""
    parts = term_tokens(term)
    prefix = term.prefix and not has_cjk(parts[-1])
    return " & ".join(f"'{p[:MAX_LEXEME_CHARS]}'" + (":*" if prefix and i == len(parts) - 1 else "")
                      for i, p in enumerate(parts))


def clause_sql(clause: Clause, column: str) -> tuple[str, list[str]]:
    parts, params = [], []
    for term in clause.terms:
        parts.append(f"strpos({column}, %s) > 0")
        params.append(term_needle(term))
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


def query_tsquery(parsed: ParsedQuery) -> str:
    """A tsquery every match satisfies (the positive clauses), for the GIN index."""
    clauses = []
    for clause in parsed.positive:
        terms = [f"({term_tsquery(t)})" for t in clause.terms]
        clauses.append(terms[0] if len(terms) == 1 else "(" + " | ".join(terms) + ")")
    return " & ".join(clauses)
