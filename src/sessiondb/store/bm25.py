"""BM25 as FTS5's ``bm25()`` computes it, in its operations and order (the same doubles)."""

from __future__ import annotations

import math

K1 = 1.2
B = 0.75


def impact(tf: int, dl: int, avgdl: float) -> float:
    """BM25's term factor, with FTS5's operations in FTS5's order (same doubles)."""
    return (tf * (K1 + 1.0)) / (tf + K1 * (1 - B + B * dl / avgdl))


def idf(rows: int, hits: int) -> float:
    """FTS5's BM25 weight of a phrase found in ``hits`` of ``rows`` rows (floored above 0 as there)."""
    hits = min(max(hits, 0), rows)  # an estimate may overshoot
    value = math.log((rows - hits + 0.5) / (hits + 0.5))
    return value if value > 0.0 else 1e-6
