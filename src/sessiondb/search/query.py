"""The search query language, and what a parsed query means.

Syntax (no input is ever an error; what cannot be understood is ignored):

* ``foo bar``        both words (AND)
* ``"foo bar"``      the phrase
* ``foo*``           a word starting with foo
* ``foo OR bar``     either (OR binds tighter than the implicit AND)
* ``-foo``, ``NOT foo``  exclude; ``--foo`` searches for ``foo`` (a command-line flag)
* ``parse_session``, ``db.py``, ``a/b/c.rs`` match as phrases of their parts
* CJK text (``单文件``) matches as a substring

A parsed query compiles to an FTS5 expression for the unicode61 index
(``messages_fts``) and another for the CJK side index (``messages_cjk``). Every word
becomes a quoted FTS5 string, so no user input can produce an FTS5 syntax error.
Each term also gets a :class:`TermMatcher`, which finds it in plain text (for
highlighting, and for rows the side index has not indexed yet).
"""

from __future__ import annotations

# Loaded on first use: finish importing typing before defining dataclasses (see sessiondb._startup).
import typing  # noqa: F401

import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from ..store.cjk_index import CJK_RANGES, has_cjk, is_cjk_char, spaced_cjk

MAX_QUERY_CHARS = 1000
MAX_CLAUSES = 32

_CJK = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in CJK_RANGES)


@functools.cache
def _token() -> re.Pattern[str]:
    """A token as the side index sees it: one CJK character, or a run of other letters
    and digits (compiled on first use; the class is large)."""
    return re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")


@dataclass(frozen=True)
class Term:
    """A word or a phrase as typed, and whether its last token is a prefix."""

    text: str
    prefix: bool = False

    @cached_property
    def tokens(self) -> tuple[str, ...]:
        return tuple(t.casefold() for t in _token().findall(self.text))

    @property
    def is_cjk(self) -> bool:
        return has_cjk(self.text)

    def fts(self, *, cjk_index: bool) -> str:
        body = spaced_cjk(self.text) if cjk_index else self.text
        return '"' + body.replace('"', '""') + '"' + ("*" if self.prefix else "")

    def matcher(self, *, folded: bool = False) -> "TermMatcher":
        """Finds this term in text; ``folded`` for text passed through :func:`fold`."""
        return TermMatcher(self, folded)


class TermMatcher:
    """Finds one term in text by the side index's token rules.

    The regex is small (the tokens joined by separators); whether a match starts and
    ends at token boundaries is checked in Python, because a character class that
    leaves out the CJK ranges takes milliseconds to compile, on every new query.
    """

    __slots__ = ("regex", "bounded_start", "bounded_end", "extend_end")

    def __init__(self, term: Term, folded: bool) -> None:
        tokens = [fold(t) if folded else t for t in _token().findall(term.text)]
        pieces = []
        for i, tok in enumerate(tokens):
            if i:
                both_latin = not has_cjk(tokens[i - 1]) and not has_cjk(tok)
                pieces.append(r"[\W_]+" if both_latin else r"[\W_]*")
            pieces.append(re.escape(tok))
        self.regex = re.compile("".join(pieces), re.IGNORECASE)
        latin_start, latin_end = not has_cjk(tokens[0]), not has_cjk(tokens[-1])
        self.bounded_start = latin_start
        self.extend_end = term.prefix and latin_end
        self.bounded_end = latin_end and not term.prefix

    def spans(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[tuple[int, int]]:
        """(start, end) of each match in ``text[pos:endpos]``, in order."""
        limit = len(text) if endpos is None else endpos
        search = self.regex.search
        while True:
            found = search(text, pos, limit)
            if found is None:
                return
            start, end = found.span()
            pos = start + 1
            if self.bounded_start and start > 0 and _glues(text[start - 1]):
                continue
            if self.extend_end:
                while end < len(text) and _glues(text[end]):
                    end += 1
            elif self.bounded_end and end < len(text) and _glues(text[end]):
                continue
            yield start, end
            pos = max(end, pos)


def _glues(ch: str) -> bool:
    """A letter or digit that is not CJK: it would be part of the same Latin token."""
    return ch.isalnum() and not is_cjk_char(ch)


@dataclass(frozen=True)
class Clause:
    """Alternatives joined by OR; a negated clause excludes what it matches."""

    terms: tuple[Term, ...]
    negated: bool = False

    def fts(self, *, cjk_index: bool) -> str:
        parts = [t.fts(cjk_index=cjk_index) for t in self.terms]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    @property
    def requires_cjk(self) -> bool:
        return not self.negated and all(t.is_cjk for t in self.terms)


@dataclass(frozen=True)
class ParsedQuery:
    clauses: tuple[Clause, ...]

    @property
    def positive(self) -> tuple[Clause, ...]:
        return tuple(c for c in self.clauses if not c.negated)

    @property
    def negative(self) -> tuple[Clause, ...]:
        return tuple(c for c in self.clauses if c.negated)

    @property
    def is_empty(self) -> bool:
        """Nothing to look for (a query of only exclusions also finds nothing)."""
        return not self.positive

    @property
    def requires_cjk(self) -> bool:
        """Every match must contain CJK text, so only the side index can have it."""
        return any(c.requires_cjk for c in self.clauses)

    @property
    def has_cjk(self) -> bool:
        return any(t.is_cjk for c in self.clauses for t in c.terms)

    def fts(self, *, cjk_index: bool) -> str:
        """The FTS5 MATCH expression for one of the two indexes."""
        expr = " AND ".join(c.fts(cjk_index=cjk_index) for c in self.positive)
        for clause in self.negative:
            expr = f"({expr}) NOT {clause.fts(cjk_index=cjk_index)}"
        return expr

    @cached_property
    def _folded_matchers(self) -> dict[Term, TermMatcher]:
        return {t: t.matcher(folded=True) for c in self.clauses for t in c.terms}

    def matches_text(self, text: str) -> bool:
        """Does ``text`` match, with the side index's semantics? (Used for rows it has
        not indexed yet.)"""
        if self.is_empty:
            return False
        text = fold(text)
        matchers = self._folded_matchers
        for clause in self.clauses:
            hit = any(next(matchers[t].spans(text), None) is not None for t in clause.terms)
            if hit == clause.negated:
                return False
        return True

    @cached_property
    def highlighter(self) -> "Highlighter | None":
        matchers = [t.matcher() for c in self.positive for t in c.terms]
        return Highlighter(matchers) if matchers else None


class Highlighter:
    """Where the positive terms of a query occur in a text (for snippets)."""

    def __init__(self, matchers: list[TermMatcher]) -> None:
        self.matchers = matchers

    def first(self, text: str) -> tuple[int, int] | None:
        found = [span for m in self.matchers for span in [next(m.spans(text), None)] if span is not None]
        return min(found) if found else None

    def spans(self, text: str, pos: int, endpos: int) -> list[tuple[int, int]]:
        """Non-overlapping match spans inside ``text[pos:endpos]``, longest first on ties."""
        spans = sorted((s for m in self.matchers for s in m.spans(text, pos, endpos)),
                       key=lambda span: (span[0], -span[1]))
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            end = min(end, endpos)
            if merged and start < merged[-1][1]:
                continue
            merged.append((start, end))
        return merged


def fold(text: str) -> str:
    """Case-fold and drop diacritics, as the unicode61 tokenizer does."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _has_token(text: str) -> bool:
    return _token().search(text) is not None


def parse_query(query: str) -> ParsedQuery:
    """Parse user input; never raises for any string."""
    if not isinstance(query, str):   # callers from C or JSON may pass anything
        return ParsedQuery(())  # type: ignore[unreachable]
    # NUL would end the expression early inside SQLite's C string handling.
    text = query[:MAX_QUERY_CHARS].replace("\x00", " ")
    items: list[tuple[str, tuple[Term, bool] | None]] = []  # ("term", (Term, negated)) | ("or", None)
    i, n = 0, len(text)
    negate_next = False
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        negated = negate_next
        negate_next = False
        if ch == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != "-":
            negated = True
            i += 1
            ch = text[i]
        if ch == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            body = text[i + 1:end]
            i = end + 1
            prefix = i < n and text[i] == "*"
            if prefix:
                i += 1
        else:
            end = i
            while end < n and not text[end].isspace():
                end += 1
            word = text[i:end]
            i = end
            if not negated and word in ("OR", "|"):
                items.append(("or", None))
                continue
            if not negated and word in ("AND", "&&"):
                continue
            if word == "NOT":
                negate_next = True
                continue
            body = word.rstrip("*")
            prefix = body != word
        if _has_token(body):
            items.append(("term", (Term(body, prefix), negated)))
    return ParsedQuery(tuple(_group(items))[:MAX_CLAUSES])


def _group(items: list[tuple[str, tuple[Term, bool] | None]]) -> list[Clause]:
    """Join OR-separated positive terms into one clause each."""
    clauses: list[Clause] = []
    pending_or = False
    for kind, value in items:
        if kind == "or" or value is None:
            pending_or = bool(clauses) and not clauses[-1].negated
            continue
        term, negated = value
        if pending_or and not negated:
            last = clauses.pop()
            clauses.append(Clause(last.terms + (term,)))
        else:
            clauses.append(Clause((term,), negated))
        pending_or = False
    return clauses
