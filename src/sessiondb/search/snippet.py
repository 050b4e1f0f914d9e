"""Snippets: a short excerpt of a message around its first match, matches marked."""

from __future__ import annotations

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    import re

    from .query import Highlighter

DEFAULT_HIGHLIGHT = ("<mark>", "</mark>")
DEFAULT_SNIPPET_CHARS = 200
_spaces: re.Pattern[str] | None = None


def _collapse_spaces(text: str) -> str:
    global _spaces
    if _spaces is None:  # compiled by the first snippet: re stays off the C ABI's start
        import re
        _spaces = re.compile(r"\s+")
    return _spaces.sub(" ", text)


def make_snippet(text: str, highlighter: Highlighter | None,
                 highlight: tuple[str, str] = DEFAULT_HIGHLIGHT, max_chars: int = DEFAULT_SNIPPET_CHARS,
                 ellipsis: str = "...") -> str:
    """A short excerpt of ``text`` around the first match, matches wrapped in markers."""
    first = highlighter.first(text) if highlighter is not None else None
    if first is None or len(text) <= max_chars or first[1] <= max_chars * 3 // 4:
        start = 0   # the beginning of the text already shows the match
    else:
        start = max(0, first[0] - max_chars // 4)
        # Begin at a word boundary when one is close.
        space = text.rfind(" ", max(0, start - 20), start + 1)
        start = space + 1 if space >= 0 and start > 0 else start
    end = min(len(text), start + max_chars)
    pieces, at = [], start
    if highlighter is not None:
        opening, closing = highlight
        for span_start, span_end in highlighter.spans(text, start, end):
            pieces += [text[at:span_start], opening, text[span_start:span_end], closing]
            at = span_end
    pieces.append(text[at:end])
    window = _collapse_spaces("".join(pieces)).strip()
    return (ellipsis if start > 0 else "") + window + (ellipsis if end < len(text) else "")
