"""Relevance score for search results: BM25 with caller-supplied term weights.

FTS5's built-in ``bm25()`` first counts every row containing each query phrase to
weigh it (its IDF); for a word found in most messages that count alone takes tens
of milliseconds on a million rows, before a single result is ranked. This function
takes the weights as arguments instead (the searcher estimates them cheaply, and
for a one-word query they do not change the order at all), and otherwise computes
the same BM25: lower is better, as with ``bm25()``.
"""

from __future__ import annotations

import math

import apsw

K1 = 1.2
B = 0.75
FUNCTION = "sessiondb_rank"


def _rank(api: apsw.FTS5ExtensionApi, *weights: float) -> float:
    # The average row length is the same for every row of one query: compute it once.
    scale = api.aux_data
    if scale is None:
        average = (api.column_total_size(0) / (api.row_count or 1)) or 1.0
        scale = api.aux_data = K1 * B / average
    norm = K1 * (1.0 - B) + scale * api.column_size(0)
    score = 0.0
    for phrase, weight in enumerate(weights):
        if weight:
            locations = api.phrase_locations(phrase)
            tf = len(locations[0]) if locations else 0
            if tf:
                score += weight * tf * (K1 + 1.0) / (tf + norm)
    return -score


def idf(documents: int, matching: int) -> float:
    """BM25's inverse document frequency, floored just above zero like FTS5's."""
    value = math.log((documents - matching + 0.5) / (matching + 0.5))
    return max(value, 1e-6)


def register(conn: apsw.Connection) -> None:
    conn.register_fts5_function(FUNCTION, _rank)  # type: ignore[arg-type]  # weights are floats
