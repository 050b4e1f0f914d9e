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
It also compiles to a regular expression per term, used for highlighting and for
matching rows the side index has not indexed yet.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from .textindex import CJK_RANGES, has_cjk, spaced_cjk

MAX_QUERY_CHARS = 1000
MAX_CLAUSES = 32

_CJK = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in CJK_RANGES)


@functools.cache
def _token() -> re.Pattern[str]:
    """A token as the side index sees it: one CJK character, or a run of other letters
    and digits (compiled on first use; the class is large)."""
    return re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")


_NONCJK_WORDCHAR = f"[^\\W_{_CJK}]"


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

    def pattern(self, *, folded: bool = False) -> str:
        """A regex for this term (to use with re.IGNORECASE); ``folded`` matches text
        passed through :func:`fold` (no diacritics)."""
        pieces = []
        tokens = [fold(t) if folded else t for t in _token().findall(self.text)]
        for i, tok in enumerate(tokens):
            if i:
                both_latin = not has_cjk(tokens[i - 1]) and not has_cjk(tok)
                pieces.append(r"[\W_]+" if both_latin else r"[\W_]*")
            pieces.append(re.escape(tok))
        if self.prefix and tokens and not has_cjk(tokens[-1]):
            pieces.append(_NONCJK_WORDCHAR + "*")
        start = "" if has_cjk(tokens[0]) else f"(?<!{_NONCJK_WORDCHAR})"
        end = "" if (self.prefix or has_cjk(tokens[-1])) else f"(?!{_NONCJK_WORDCHAR})"
        return start + "".join(pieces) + end


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
    def _term_regexes(self) -> dict[Term, re.Pattern[str]]:
        return {t: re.compile(t.pattern(folded=True), re.IGNORECASE)
                for c in self.clauses for t in c.terms}

    def matches_text(self, text: str) -> bool:
        """Does ``text`` match, with the side index's semantics? (Used for rows it has
        not indexed yet.)"""
        if self.is_empty:
            return False
        text = fold(text)
        found = self._term_regexes
        for clause in self.clauses:
            hit = any(found[t].search(text) for t in clause.terms)
            if hit == clause.negated:
                return False
        return True

    @cached_property
    def highlight_regex(self) -> re.Pattern[str] | None:
        patterns = [t.pattern() for c in self.positive for t in c.terms]
        if not patterns:
            return None
        # Longest first, so a phrase wins over a word it contains.
        patterns.sort(key=len, reverse=True)
        return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)

    def vocabulary_tokens(self) -> list[tuple[str, bool]]:
        """(token, is_prefix) of every positive term, folded as unicode61 folds them,
        for estimating how many rows match."""
        out = []
        for clause in self.positive:
            for term in clause.terms:
                toks = [fold(t) for t in term.tokens]
                out.extend((tok, term.prefix and i == len(toks) - 1) for i, tok in enumerate(toks))
        return out


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
    if not isinstance(query, str):
        return ParsedQuery(())
    # NUL would end the expression early inside SQLite's C string handling.
    text = query[:MAX_QUERY_CHARS].replace("\x00", " ")
    items: list[tuple[str, object]] = []  # ("term", (Term, negated)) | ("or", None)
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


def _group(items: list[tuple[str, object]]) -> list[Clause]:
    """Join OR-separated positive terms into one clause each."""
    clauses: list[Clause] = []
    pending_or = False
    for kind, value in items:
        if kind == "or":
            pending_or = bool(clauses) and not clauses[-1].negated
            continue
        term, negated = value  # type: ignore[misc]
        if pending_or and not negated:
            last = clauses.pop()
            clauses.append(Clause(last.terms + (term,)))
        else:
            clauses.append(Clause((term,), negated))
        pending_or = False
    return clauses
