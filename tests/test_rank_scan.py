"""The compiled rank-index scanner (``sessiondb._rankscan``) gives what the Python code gives.

``store.rank_index.postings_in_python`` and ``frequent_terms_in_python`` are the
reference: the same postings (row, term, impact to the last bit, tf, dl), the same row
counts per term, the same frequent terms, for any text, including text that is not
ASCII (tokenized by SQLite's unicode61 through apsw) and every ASCII character (tokenized
in C). A package built without a C compiler runs the reference; CI requires the
compiled one.
"""

from __future__ import annotations

import collections
import os
import random
from collections.abc import Iterator

import apsw
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessiondb.store import rank_index

compiled = rank_index._compiled()
if compiled is None:
    if os.environ.get("SESSIONDB_REQUIRE_CAPI") == "1":
        raise AssertionError("sessiondb._rankscan was not built (SESSIONDB_REQUIRE_CAPI=1)")
    pytest.skip("sessiondb._rankscan was not built (no C compiler)", allow_module_level=True)

TOKENIZE = rank_index.Tokenizer(apsw.Connection(":memory:"))

# Few distinct words, so that texts repeat them and pairs recur; every ASCII character
# and some that are not ASCII between them.
WORDS = ["the", "The", "THE", "file", "error", "x", "x1", "42", "café", "Straße", "中文", "naïve", "e\u0301"]
SEPARATORS = [" ", "  ", "\n", "\t", ".", "_", "-", "/", "::", "\u00a0", "\u2014", "\U0001F600", "\x00",
              *map(chr, range(128))]
texts_strategy = st.lists(st.sampled_from(WORDS + SEPARATORS), max_size=60).map("".join)


def _snapshot(texts: list[str], rng: random.Random, avgdl: float) -> rank_index.Snapshot:
    """Lists for some of the words and pairs of these texts, with floors from none to most."""
    terms: set[str] = set()
    for text in texts:
        tokens = TOKENIZE(text)
        terms.update(t for t in tokens if rng.random() < 0.6)
        terms.update(rank_index.pair_key(a, b) for a, b in zip(tokens, tokens[1:]) if rng.random() < 0.4)
    terms.add(rank_index.pair_key("unlisted", "words"))   # a pair whose words have no lists
    floors = {t: rng.choice([0.0, 0.0, rng.uniform(0.2, 2.0), rank_index.impact(1, 3, avgdl)])
              for t in sorted(terms)}
    return rank_index.Snapshot((avgdl, 0, len(floors)), avgdl, floors)


def _both(snap: rank_index.Snapshot, texts: list[object]) -> tuple[tuple[object, ...], tuple[object, ...]]:
    reference: collections.Counter[str] = collections.Counter()
    expected = rank_index.postings_in_python(snap, TOKENIZE, texts, reference)
    counts: collections.Counter[str] = collections.Counter()
    assert snap.scanner() is not None
    got = rank_index.postings_of(snap, TOKENIZE, texts, counts)
    return (sorted(expected), dict(reference)), (sorted(got), dict(counts))


@settings(max_examples=300, deadline=None)
@given(st.lists(texts_strategy, max_size=12), st.integers(0, 2**32), st.floats(1.0, 400.0))
def test_postings_and_counts_are_those_of_the_python_code(texts: list[str], seed: int, avgdl: float) -> None:
    snap = _snapshot(texts, random.Random(seed), avgdl)
    expected, got = _both(snap, list(texts))
    assert got == expected


def test_rows_that_are_not_text_are_tokenized_as_the_python_code_does() -> None:
    texts: list[object] = [None, b"the file the", b"\xff\xfe file", 42, "", "   ", "THE FILE"]
    snap = rank_index.Snapshot((10.0, 0, 3), 10.0, {"the": 0.0, "file": 0.0, "the file": 0.0})
    expected, got = _both(snap, texts)
    assert got == expected
    assert expected[1] == {"the": 2, "file": 3, "the file": 2}


def test_a_long_row_is_counted_whole() -> None:
    text = ("Alpha beta " * 50_000) + "x" * 100_000 + " beta"
    snap = rank_index.Snapshot((5.0, 0, 3), 5.0, {"alpha": 0.0, "beta": 0.0, "alpha beta": 0.0})
    expected, got = _both(snap, [text])
    assert got == expected
    assert {term: tf for _, term, _, tf, _ in got[0]} == {"alpha": 50_000, "beta": 50_001, "alpha beta": 50_000}


@settings(max_examples=300, deadline=None)
@given(st.lists(texts_strategy, max_size=12), st.integers(0, 2**32), st.floats(1.0, 400.0), st.integers(1, 4))
def test_each_terms_best_rows_are_the_best_of_its_postings(texts: list[str], seed: int, avgdl: float,
                                                           keep: int) -> None:
    # Scanner.best over every row, against every posting the Python code finds with no floors.
    terms = _snapshot(texts, random.Random(seed), avgdl).floors
    snap = rank_index.Snapshot((avgdl, 0, len(terms)), avgdl, dict.fromkeys(terms, 0.0))
    docs: collections.Counter[str] = collections.Counter()
    postings = rank_index.postings_in_python(snap, TOKENIZE, list(texts), docs)
    ids = [1000 + 7 * i for i in range(len(texts))]
    got = snap.scanner().best(zip(ids, texts), TOKENIZE, keep)
    assert got.keys() == terms.keys()
    for term, (count, best) in got.items():
        rows = [(value, ids[index], tf, dl) for index, name, value, tf, dl in postings if name == term]
        assert count == docs[term] == len(rows)
        assert sorted(value for value, *_ in best) == sorted(value for value, *_ in rows)[::-1][:keep][::-1]
        assert set(best) <= set(rows)


def test_best_rows_refuse_what_is_not_an_id_and_a_text() -> None:
    scanner = rank_index.Snapshot((5.0, 0, 1), 5.0, {"the": 0.0}).scanner()
    for rows in ([("1", "the")], [(1, "the", 2)], ["the"]):
        with pytest.raises(TypeError):
            scanner.best(rows, TOKENIZE, 3)
    with pytest.raises(ValueError):
        scanner.best([], TOKENIZE, 0)

    def failing() -> Iterator[tuple[int, str]]:
        yield (1, "the")
        raise OSError("the rows ended")
    with pytest.raises(OSError, match="the rows ended"):
        scanner.best(failing(), TOKENIZE, 3)
    assert scanner.best(iter([(5, None), (6, "The the")]), TOKENIZE, 3) == {
        "the": (1, [(rank_index.impact(2, 2, 5.0), 6, 2, 2)])}


@settings(max_examples=200, deadline=None)
@given(st.lists(texts_strategy, min_size=1, max_size=30), st.sampled_from([1, 2, 3, 5]), st.floats(0.5, 3.0))
def test_frequent_terms_are_those_of_the_python_code(texts: list[str], least: int, scale: float) -> None:
    found = compiled.frequent_terms(texts, TOKENIZE, scale, least)
    ordered = sorted(t for t in found if " " not in t) + sorted(t for t in found if " " in t)
    assert len(found) == len(set(found))
    assert ordered == rank_index.frequent_terms_in_python([TOKENIZE(t) for t in texts], scale, least)


def test_every_ascii_character_splits_or_joins_words_as_unicode61_does() -> None:
    """With a threshold of one row every token is a frequent word: the C tokenizer's words
    for each ASCII character between two letters are SQLite's."""
    for code in range(128):
        text = f"Ab{chr(code)}Cd {chr(code)} e{chr(code)}"
        words = [t for t in compiled.frequent_terms([text], TOKENIZE, 1.0, 1) if " " not in t]
        assert sorted(words) == sorted(set(TOKENIZE(text))), (code, words)


def test_add_counts_adds_into_a_counter() -> None:
    total: collections.Counter[str] = collections.Counter({"a": 1})
    compiled.add_counts(total, {"a": 2, "b": 5})
    assert total == {"a": 3, "b": 5}
    with pytest.raises(TypeError):
        compiled.add_counts(total, [("a", 1)])


phrase_strategy = st.tuples(st.lists(st.sampled_from(["the", "file", "x", "x1", "café", "中文", "th", "f", "e"]),
                                     min_size=1, max_size=3), st.booleans())


@settings(max_examples=300, deadline=None)
@given(texts_strategy, st.lists(phrase_strategy, min_size=1, max_size=4))
def test_phrase_counts_are_those_of_the_search(text: str, phrases: list[tuple[list[str], bool]]) -> None:
    """What a search counts when it scores a row from its text (search.topk._Phrase.count)."""
    from sessiondb.search import topk
    from sessiondb.search.query import Term

    tokens = TOKENIZE(text)
    expected = [topk._Phrase(Term(" ".join(words), prefix), words, False).count(tokens) for words, prefix in phrases]
    assert compiled.count_phrases(text, TOKENIZE, phrases) == (len(tokens), expected)
