"""Relevance score for search results: BM25 with caller-supplied term weights.

FTS5's built-in ``bm25()`` first counts every row containing each query phrase to
weigh it (its IDF); for a word found in most messages that count alone takes tens
of milliseconds on a million rows, before a single result is ranked. This function
takes the weights as arguments instead (the searcher estimates them cheaply, and
for a one-word query they do not change the order at all), and otherwise computes
the same BM25, in FTS5's operations and order (the same doubles): lower is better, as
with ``bm25()``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    import apsw

from ..store.bm25 import B as B, K1 as K1, idf as idf, impact

FUNCTION = "sessiondb_rank"
# A row's count of each query phrase (an integer for one phrase, else the counts joined
# by spaces): for rows whose length the caller knows already, which saves the length
# lookup that costs more than the count.
COUNTS = "sessiondb_phrase_counts"


def _rank(api: apsw.FTS5ExtensionApi, *weights: float) -> float:
    # The average row length is the same for every row of one query: compute it once.
    average = api.aux_data
    if average is None:
        average = api.aux_data = (api.column_total_size(0) / (api.row_count or 1)) or 1.0
    counts = [_count(api, phrase) if weight else 0 for phrase, weight in enumerate(weights)]
    return score(weights, counts, api.column_size(0), average)


def _counts(api: apsw.FTS5ExtensionApi) -> int | str:
    counts = [_count(api, phrase) for phrase in range(api.phrase_count)]
    return counts[0] if len(counts) == 1 else " ".join(map(str, counts))


def _count(api: apsw.FTS5ExtensionApi, phrase: int) -> int:
    locations = api.phrase_locations(phrase)
    return len(locations[0]) if locations else 0


def score(weights: list[float] | tuple[float, ...], counts: list[int], size: int, average: float) -> float:
    """What ``FUNCTION`` returns for a row with these phrase counts and length: lower is
    better (FTS5's operations in FTS5's order, so the same doubles as ``bm25()``)."""
    total = 0.0
    for weight, tf in zip(weights, counts):
        if weight and tf:
            total += weight * impact(tf, size, average)
    return -total


def register(conn: apsw.Connection) -> None:
    conn.register_fts5_function(FUNCTION, _rank)  # type: ignore[arg-type]  # weights are floats
    conn.register_fts5_function(COUNTS, _counts)  # type: ignore[arg-type]
