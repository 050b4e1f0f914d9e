"""The mirror finds what the local search finds: the benchmark's query mix, CJK and code included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sessiondb import DbConfig, SearchOrder, SessionDB
from sessiondb.mirror import RemoteArchive, sync

BENCH = Path(__file__).resolve().parent.parent / "bench"
ALL = 1_000_000


@pytest.fixture(scope="module")
def bench_db(tmp_path_factory) -> Path:
    """The search benchmark's generated database, small (its vocabulary and mix are the same)."""
    out = tmp_path_factory.mktemp("bench") / "search.db"
    subprocess.run([sys.executable, str(BENCH / "build_search_db.py"), "--messages", "6000", "--out", str(out)],
                   check=True, capture_output=True, timeout=300)
    return out


@pytest.fixture(scope="module")
def mirrored(bench_db: Path, pg_cluster):
    url = pg_cluster.url(pg_cluster.new_database())
    sync(bench_db, url, machine="bench")
    local = SessionDB.connect(DbConfig.local(bench_db, read_only=True))
    remote = RemoteArchive(url)
    yield local, remote
    local.close()
    remote.close()


def _mix(local: SessionDB):
    sys.path.insert(0, str(BENCH))
    try:
        from search_bench import query_mix
    finally:
        sys.path.remove(str(BENCH))
    return query_mix(local)


def _remote_kwargs(local: SessionDB, remote: RemoteArchive, kwargs: dict) -> dict:
    """The same filters on the mirror: its project ids are its own."""
    kwargs = dict(kwargs)
    if "project_id" in kwargs:
        path = local.get_project(kwargs["project_id"]).path
        kwargs["project_id"] = remote.get_project_by_path(path, machine="bench").id
    return kwargs


def test_every_query_of_the_benchmark_mix_has_the_same_hits(mirrored) -> None:
    local, remote = mirrored
    mix = _mix(local)
    kinds = {label for label, _, _ in mix}
    assert {"CJK 2 chars", "CJK 4 chars", "CJK + latin", "code: snake_case part", "code: path",
            "code: dotted"} <= kinds
    found = set()
    for label, query, kwargs in mix:
        remote_kwargs = _remote_kwargs(local, remote, kwargs)
        for order in (SearchOrder.TIME_DESC, SearchOrder.TIME_ASC):
            args = {**kwargs, "order": order}
            want = [h.uuid for h in local.search(query, limit=ALL, **args)]
            got = [h.uuid for h in remote.search(query, limit=ALL, **{**remote_kwargs, "order": order})]
            assert got == want, (label, query, order)
        if want:
            found.add(label)
        # Score order ranks every match on the mirror; locally it ranks what its time budget
        # reaches (the newest matches), so those are a subset.
        base = {k: v for k, v in kwargs.items() if k != "order"}
        rbase = {k: v for k, v in remote_kwargs.items() if k != "order"}
        ranked = {h.uuid for h in remote.search(query, limit=ALL, **rbase)}
        assert ranked == set(want), label
        assert {h.uuid for h in local.search(query, limit=ALL, **base)} <= ranked, label
    # A small corpus lacks the rare words, but CJK, code and common words are found.
    assert {"CJK 2 chars", "CJK 4 chars", "code: snake_case part", "code: path", "code: dotted",
            "very common term", "prefix", "exclusion"} <= found


def test_top_results_carry_the_same_fields_and_snippets(mirrored) -> None:
    local, remote = mirrored
    for query in ("session_file", "src/sessiondb/db.py", "sess*", "error -the"):
        want = local.search(query, limit=5, order=SearchOrder.TIME_DESC, highlight=("[", "]"))
        got = remote.search(query, limit=5, order=SearchOrder.TIME_DESC, highlight=("[", "]"))
        assert want, query
        fields = lambda h: (h.uuid, h.session_id, h.project_name, h.project_path, h.type, h.timestamp,  # noqa: E731
                            h.snippet, h.content_full)
        assert [fields(h) for h in got] == [fields(h) for h in want]


def test_score_order_ranks_the_rarer_term_first_like_bm25(mirrored) -> None:
    local, remote = mirrored
    hits = remote.search("error", limit=20)
    assert hits and all(h.score <= 0 for h in hits)
    assert [h.score for h in hits] == sorted(h.score for h in hits)
    # A query nothing matches, or only exclusions: nothing, never an error.
    for query in ("zzzqqqxxx", "-error", "", '"', "OR", "*", "\x00", "a" * 5000):
        assert remote.search(query) == [] and local.search(query) == [], query
