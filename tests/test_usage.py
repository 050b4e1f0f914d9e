"""Token usage: each agent's counts stored once per model call at collection, checked
against counts made from the raw files by hand (tests/usage_shapes.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from collect_helpers import StatementLog, only, rows
from usage_shapes import (CLAUDE_PARENT, CLAUDE_PROJECT, CLAUDE_RESUMED, CODEX_SESSION, GEMINI_SESSION,
                          OPENCODE_SESSION, claude_streamed, claude_usage, codex_head, codex_path, codex_tail,
                          count_claude, count_codex, count_gemini, count_opencode, counted, jsonl, write_claude,
                          write_gemini, write_opencode)

from sessiondb import SessionDB
from sessiondb.errors import ConfigError, InvalidArgument
from sessiondb.pricing import load_prices, normalize_model


def _usage_rows(db: SessionDB) -> list[tuple]:
    return list(db._store.connection().execute(
        "SELECT source, usage_key, session_id, message_uuid, model, timestamp, input_tokens, output_tokens, "
        "cache_read_tokens, cache_write_tokens, reasoning_tokens, reported_cost FROM usage ORDER BY usage_key"))


def _one(db: SessionDB, **filters: object):
    found = db.usage(by="all", utc=True, **filters)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def claude_root(tmp_path: Path) -> Path:
    root = tmp_path / "claude"
    write_claude(root)
    return root


# ------------------------------------------------------------------ Claude Code
def test_claude_counts_each_response_once_with_its_final_usage(db: SessionDB, claude_root: Path,
                                                               tmp_path: Path) -> None:
    parent = claude_root / CLAUDE_PROJECT / f"{CLAUDE_PARENT}.jsonl"
    roots = only("claude", claude_root, tmp_path)
    db.collect_by_path(parent, roots=roots)          # the parent first, as it was written first
    db.collect_all(["claude"], roots=roots)
    expected = count_claude(claude_root.rglob("*.jsonl"))
    assert counted(_one(db, source="claude")) == expected
    assert expected["calls"] == 4   # R1 (3 chunks + a replay of them), R2, R3, R4 (+ its copy of R1, R2)
    by_key = {r[1]: r for r in _usage_rows(db)}
    assert set(by_key) == {"msg:msg_01R1", "msg:msg_01R2", "msg:msg_01R3", "msg:msg_01R4"}
    # The final snapshot, never the first: output 120, not 5; without requestId too (55, not 10).
    assert by_key["msg:msg_01R1"][6:10] == (12, 120, 0, 2000)
    assert by_key["msg:msg_01R2"][6:10] == (8, 55, 2000, 0)
    # Linked to the line whose usage was kept; the copied prefix stays with the parent.
    assert by_key["msg:msg_01R1"][3] == "r1-2" and by_key["msg:msg_01R1"][2] == CLAUDE_PARENT
    assert by_key["msg:msg_01R4"][2] == CLAUDE_RESUMED
    assert db.get_message_by_uuid("r1-2") is not None
    sessions = {r.key: counted(r) for r in db.usage(by="session")}
    assert sessions[CLAUDE_RESUMED]["calls"] == 1 and sessions[CLAUDE_PARENT]["calls"] == 3


def test_a_resumed_session_read_first_still_counts_the_copied_calls_once(db: SessionDB, claude_root: Path,
                                                                         tmp_path: Path) -> None:
    resumed = claude_root / CLAUDE_PROJECT / f"{CLAUDE_RESUMED}.jsonl"
    roots = only("claude", claude_root, tmp_path)
    db.collect_by_path(resumed, roots=roots)
    db.collect_all(["claude"], roots=roots)
    assert counted(_one(db)) == count_claude(claude_root.rglob("*.jsonl"))


def test_a_response_appended_mid_stream_is_updated_in_place(db: SessionDB, claude_root: Path, tmp_path: Path) -> None:
    roots = only("claude", claude_root, tmp_path)
    path = claude_root / CLAUDE_PROJECT / f"{CLAUDE_PARENT}.jsonl"
    db.collect_all(["claude"], roots=roots)
    before = _usage_rows(db)
    chunks = claude_streamed("r5", CLAUDE_PARENT, "msg_01R5", "req_01R5", "2025-09-02T10:00:00.000Z",
                             [claude_usage(40, 3, 0, 6000), claude_usage(40, 64, 0, 6000),
                              claude_usage(40, 210, 0, 6000)])
    jsonl(path, chunks[:1], mode="a")
    db.collect_all(["claude"], roots=roots)
    assert [r for r in _usage_rows(db) if r[1] == "msg:msg_01R5"][0][7] == 3   # what was there so far
    jsonl(path, chunks[1:], mode="a")
    with StatementLog(db) as log:
        result = db.collect_all(["claude"], roots=roots)
    assert result.messages_inserted == 2 and result.files_reparsed == 0
    after = _usage_rows(db)
    assert [r for r in after if r[1] == "msg:msg_01R5"][0][6:10] == (40, 210, 6000, 0)
    assert [r for r in after if r[1] != "msg:msg_01R5"] == before   # nothing else touched
    # Only the two new lines' counts are sent to the store (the earlier ones are not read again).
    usage_writes = [s for s in log.writes if s.startswith("INSERT INTO usage")]
    assert len(usage_writes) == 2
    assert counted(_one(db, session=CLAUDE_PARENT)) == count_claude([path])


def test_a_warm_rescan_writes_no_usage_and_a_shorter_snapshot_never_shrinks_a_row(
        db: SessionDB, claude_root: Path, tmp_path: Path) -> None:
    roots = only("claude", claude_root, tmp_path)
    db.collect_all(["claude"], roots=roots)
    before = _usage_rows(db)
    with StatementLog(db) as log:
        db.collect_all(["claude"], roots=roots)
    assert log.changes == 0 and log.writes == []
    # The file rewritten with only the first snapshot of R1: the stored row keeps the final one.
    path = claude_root / CLAUDE_PROJECT / f"{CLAUDE_PARENT}.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n")
    result = db.collect_all(["claude"], roots=roots)
    assert result.files_reparsed == 1
    assert _usage_rows(db) == before


# ------------------------------------------------------------------ Codex
def test_codex_counts_calls_as_codex_means_them(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "codex"
    path = codex_path(root)
    jsonl(path, codex_head())
    roots = only("codex", root, tmp_path)
    db.collect_all(["codex"], roots=roots)
    row = _one(db, source="codex")
    assert counted(row) == count_codex(path) and row.requests == 2   # info null and a repeat: no calls
    jsonl(path, codex_tail(), mode="a")
    db.collect_all(["codex"], roots=roots)
    expected = count_codex(path)
    assert counted(_one(db, source="codex")) == expected
    assert expected["total"] == 21000 and expected["cache_read"] == 9000   # cached input is not counted twice
    stored = sorted((r for r in _usage_rows(db) if r[0] == "codex"), key=lambda r: r[5])
    assert [(r[3], r[4]) for r in stored] == [("msg_c1", "gpt-5-codex"), ("msg_c2", "gpt-5-codex"),
                                             ("msg_c3", "gpt-5-codex")]
    # Read again from the start (another parser state): the same rows.
    db._store.connection().execute("UPDATE file_state SET parser_state = NULL WHERE source = 'codex'")
    before = _usage_rows(db)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000))
    db.collect_all(["codex"], roots=roots)
    assert _usage_rows(db) == before
    assert _one(db, session=CODEX_SESSION).total_tokens == 21000


# ------------------------------------------------------------------ OpenCode
def test_opencode_sums_the_steps_of_a_message_and_keeps_its_reported_cost(db: SessionDB, tmp_path: Path) -> None:
    root = write_opencode(tmp_path / "opencode")
    db.collect_all(["opencode"], roots=only("opencode", root, tmp_path))
    expected = count_opencode(root)
    row = _one(db, source="opencode")
    assert counted(row) == {k: v for k, v in expected.items() if k not in ("by_message", "reported_cost")}
    by_key = {r[1]: r for r in _usage_rows(db)}
    assert by_key["msg_a1"][6:11] == (1300, 350, 4000, 3500, 70)   # both steps, not the message's last-step tokens
    assert by_key["msg_a1"][11] == pytest.approx(expected["reported_cost"]["claude-sonnet-4-5"])
    models = {r.key: r for r in db.usage(by="model", session=OPENCODE_SESSION)}
    # A local model: no price of ours and a reported cost of 0 -> "no price", not $0.
    assert models["kimi-k2-local"].cost is None and models["kimi-k2-local"].unpriced_tokens == 960
    sonnet = load_prices().price("claude-sonnet-4-5")
    assert sonnet is not None
    assert models["claude-sonnet-4-5"].cost == pytest.approx(sonnet.cost(1300, 350, 4000, 3500, 70), abs=1e-6)


# ------------------------------------------------------------------ Gemini CLI
def test_gemini_counts_cached_thoughts_and_tool_tokens_apart(db: SessionDB, tmp_path: Path) -> None:
    path = write_gemini(tmp_path / "gemini")
    db.collect_all(["gemini"], roots=only("gemini", tmp_path / "gemini", tmp_path))
    expected = count_gemini(path)
    assert counted(_one(db, source="gemini")) == expected
    assert expected["total"] == 9170 + 9480   # the file's own totals
    assert {r.key for r in db.usage(by="model", session=GEMINI_SESSION)} == {"gemini-2.5-pro", "gemini-2.5-flash"}
    # Rewritten in place with the same messages: nothing changes.
    before = _usage_rows(db)
    path.write_text(path.read_text() + "\n")
    db.collect_all(["gemini"], roots=only("gemini", tmp_path / "gemini", tmp_path))
    assert _usage_rows(db) == before


# ------------------------------------------------------------------ upgrades and bad input
def test_an_older_database_gets_usage_on_the_next_collect_without_new_messages(
        db: SessionDB, claude_root: Path, tmp_path: Path) -> None:
    roots = {**only("claude", claude_root, tmp_path), "codex": str(tmp_path / "codex"),
             "opencode": str(write_opencode(tmp_path / "opencode")), "gemini": str(tmp_path / "gemini")}
    jsonl(codex_path(tmp_path / "codex"), codex_head() + codex_tail())
    write_gemini(tmp_path / "gemini")
    db.collect_all(roots=roots)
    expected = _usage_rows(db)
    messages = rows(db)
    conn = db._store.connection()
    # What a database of the previous version holds: messages, file states of parser version 2, no usage.
    conn.execute("DELETE FROM usage")
    conn.execute("UPDATE file_state SET parser_version = 2 WHERE source IN ('claude', 'codex', 'opencode', 'gemini')")
    last_id = conn.execute("SELECT MAX(id) FROM messages").fetchone()[0]
    result = db.collect_all(roots=roots)
    assert result.messages_inserted == 0
    assert rows(db) == messages and conn.execute("SELECT MAX(id) FROM messages").fetchone()[0] == last_id
    assert _usage_rows(db) == expected and len(expected) == 4 + 3 + 2 + 2
    with StatementLog(db) as log:
        db.collect_all(roots=roots)
    assert log.changes == 0


def test_hostile_counts_are_never_tokens_and_never_stop_the_file(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "claude"
    path = root / CLAUDE_PROJECT / "hostile.jsonl"
    bad_usages = [{"input_tokens": "12", "output_tokens": True}, {"input_tokens": -5, "output_tokens": 1e300},
                  "not an object", {"input_tokens": None, "output_tokens": [1]},
                  {"input_tokens": 2 ** 70, "output_tokens": 7}]
    lines = [claude_streamed(f"h{i}", "hostile", f"msg_h{i}", None, "2025-09-09T10:00:00.000Z",
                             [usage])[0] for i, usage in enumerate(bad_usages)]   # type: ignore[list-item]
    jsonl(path, lines)
    with path.open("a") as handle:
        handle.write('{"type": "assistant", "uuid": "x", "message": {"id": "m", "usage": {"input_tokens": 1e999}}}\n')
    result = db.collect_all(["claude"], roots=only("claude", root, tmp_path))
    assert result.messages_inserted == 5
    stored = {r[1]: r[6:11] for r in _usage_rows(db)}
    assert stored == {"msg:msg_h1": (0, 1 << 48, 0, 0, 0), "msg:msg_h4": (1 << 48, 7, 0, 0, 0)}


# ------------------------------------------------------------------ the report
def test_rows_by_day_week_month_project_and_filters(db: SessionDB, claude_root: Path, tmp_path: Path) -> None:
    roots = {**only("claude", claude_root, tmp_path), "codex": str(tmp_path / "codex")}
    jsonl(codex_path(tmp_path / "codex"), codex_head() + codex_tail())
    db.collect_all(roots=roots)
    days = db.usage(by="day", utc=True)
    assert [r.key for r in days] == ["2025-09-01", "2025-09-02", "2025-09-03", "2025-09-05"]
    assert sum(r.total_tokens for r in days) == _one(db).total_tokens
    weeks = db.usage(by="week", utc=True)
    assert [r.key for r in weeks] == ["2025-09-01"] and weeks[0].sessions == 3   # Monday 1 September
    assert [r.key for r in db.usage(by="month", utc=True)] == ["2025-09"]
    projects = {r.key: r for r in db.usage(by="project")}
    assert set(projects) == {"/work/shop", "/work/api"}
    shop = db.get_project_by_path("/work/shop")
    assert shop is not None
    assert counted(db.usage(by="all", project=shop.id)[0]) == counted(projects["/work/shop"])
    assert counted(db.usage(by="all", project="/work/shop")[0]) == counted(projects["/work/shop"])
    since = 1756800000000   # 2025-09-02T08:00Z
    assert [r.key for r in db.usage(by="day", since=since, until=since + 86_400_000, utc=True)] == ["2025-09-02"]
    assert db.usage(by="day", source="gemini") == []
    with pytest.raises(InvalidArgument):
        db.usage(by="hour")
    with pytest.raises(InvalidArgument):
        db.usage(since="yesterday")   # type: ignore[arg-type]


def test_unknown_models_are_listed_with_tokens_and_no_price(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "claude"
    jsonl(root / CLAUDE_PROJECT / "new.jsonl",
          claude_streamed("n", "new", "msg_n", "req_n", "2025-09-10T10:00:00.000Z", [claude_usage(100, 50)])
          + [{**claude_streamed("o", "new", "msg_o", "req_o", "2025-09-10T11:00:00.000Z",
                                [claude_usage(10, 5)])[0],
              "message": {**claude_streamed("o", "new", "msg_o", "req_o", "2025-09-10T11:00:00.000Z",
                                            [claude_usage(10, 5)])[0]["message"], "model": "claude-future-9"}}])
    db.collect_all(["claude"], roots=only("claude", root, tmp_path))
    models = {r.key: r for r in db.usage(by="model")}
    assert models["claude-future-9"].cost is None and models["claude-future-9"].total_tokens == 15
    assert models["claude-future-9"].unpriced_models == ("claude-future-9",)
    day = db.usage(by="day")[0]
    assert day.unpriced_tokens == 15 and day.cost is not None and day.cost > 0   # the priced part only
    # A user's price file adds the model (and may change others), from the environment or an argument.
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"claude-future-9": {"input": 100, "output": 200}}}))
    priced = {r.key: r for r in db.usage(by="model", prices=str(prices))}
    assert priced["claude-future-9"].cost == pytest.approx((10 * 100 + 5 * 200) / 1e6)
    os.environ["SESSIONDB_PRICES"] = str(prices)
    try:
        assert {r.key: r for r in SessionDB.connect(db.path).usage(by="model")}["claude-future-9"].cost is not None
    finally:
        del os.environ["SESSIONDB_PRICES"]
    prices.write_text('{"models": {"x": {"input": "cheap"}}}')
    with pytest.raises(ConfigError, match="input"):
        db.usage(prices=str(prices))


def test_price_table_is_bundled_dated_and_matches_model_spellings() -> None:
    table = load_prices()
    assert table.date and table.files == ()
    for spelling in ("claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5", "claude-sonnet-4-5@20250929",
                     "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "CLAUDE-SONNET-4-5"):
        assert normalize_model(spelling) == "claude-sonnet-4-5", spelling
        assert table.price(spelling) == table.price("claude-sonnet-4-5")
    assert table.price("gpt-5-codex") is not None and table.price("codex-mini-latest") is not None
    assert table.price("gpt-5-nano") != table.price("gpt-5")
    assert table.price("some-local-model") is None and table.price(None) is None


def test_the_price_table_is_in_the_installed_package() -> None:
    from importlib import resources

    assert (resources.files("sessiondb") / "data" / "prices.json").is_file()


def test_the_original_library_keeps_working_in_a_database_with_usage(db: SessionDB, claude_root: Path,
                                                                       tmp_path: Path) -> None:
    """The usage table is an addition: the original's client opens the file, skips its
    migration and writes its rows; our next collection adds to them."""
    from original_schema import OriginalClient

    db.collect_all(["claude"], roots=only("claude", claude_root, tmp_path))
    client = OriginalClient(str(db.path))
    project = client.get_or_create_project("other", "/work/other", "claude")
    client.upsert_session("orig-1", project)
    assert client.insert_messages("orig-1", [("orig-u1", "user", "written by the original", 1, 0)]) == 1
    client.conn.close()
    assert db.get_message_by_uuid("orig-u1") is not None
    assert counted(_one(db)) == count_claude(claude_root.rglob("*.jsonl"))


# ------------------------------------------------------------------ the newer agents
def test_qwen_pi_and_goose_carry_usage(db: SessionDB, tmp_path: Path) -> None:
    qwen = tmp_path / "qwen"
    usage_meta = [{"promptTokenCount": 812, "candidatesTokenCount": 41, "cachedContentTokenCount": 300,
                   "thoughtsTokenCount": 12, "totalTokenCount": 865},
                  {"promptTokenCount": 900, "candidatesTokenCount": 60, "totalTokenCount": 960}]
    jsonl(qwen / "projects" / "-work-notes" / "chats" / "q1.jsonl", [
        {"uuid": "q-u", "sessionId": "q1", "timestamp": "2026-01-23T10:00:00.000Z", "type": "user", "cwd": "/work/notes",
         "message": {"role": "user", "parts": [{"text": "sync the notes"}]}},
        *[{"uuid": f"q-a{i}", "parentUuid": "q-u", "sessionId": "q1", "timestamp": f"2026-01-23T10:00:0{i + 1}.000Z",
           "type": "assistant", "cwd": "/work/notes", "model": "qwen3-coder-plus",
           "message": {"role": "model", "parts": [{"text": f"step {i}"}]}, "usageMetadata": meta}
          for i, meta in enumerate(usage_meta)]])
    pi = tmp_path / "pi"
    jsonl(pi / "--work-shop--" / "2026-01-24T11-05-00-000Z_p1.jsonl", [
        {"type": "session", "version": 3, "id": "p1", "timestamp": "2026-01-24T11:05:00.000Z", "cwd": "/work/shop"},
        {"type": "message", "id": "p-a", "parentId": None, "timestamp": "2026-01-24T11:05:10.000Z",
         "message": {"role": "assistant", "model": "claude-opus-4-5", "provider": "anthropic",
                     "content": [{"type": "text", "text": "Adding a limiter."}],
                     "usage": {"input": 50, "output": 120, "cacheRead": 4000, "cacheWrite": 800, "totalTokens": 4970,
                               "cost": {"input": 0.00025, "output": 0.003, "cacheRead": 0.002, "cacheWrite": 0.005,
                                        "total": 0.01025}}}}])
    goose = tmp_path / "goose"
    jsonl(goose / "g1.jsonl", [
        {"working_dir": "/work/gateway", "description": "limiter", "total_tokens": 900, "input_tokens": 800,
         "output_tokens": 100, "accumulated_input_tokens": 5200, "accumulated_output_tokens": 700,
         "accumulated_total_tokens": 5900},
        {"role": "user", "created": 1768489200, "content": [{"type": "text", "text": "add a limiter"}]},
        {"role": "assistant", "created": 1768489210, "content": [{"type": "text", "text": "done"}]}])
    roots = {**only("qwen", qwen, tmp_path), "pi": str(pi), "goose": str(goose)}
    db.collect_all(["qwen", "pi", "goose"], roots=roots)
    by_source = {r.key: r for r in db.usage(by="source")}
    expected_qwen = sum(m["totalTokenCount"] for m in usage_meta)
    assert by_source["qwen"].total_tokens == expected_qwen and by_source["qwen"].requests == 2
    assert by_source["qwen"].cache_read_tokens == 300 and by_source["qwen"].reasoning_tokens == 12
    assert by_source["pi"].total_tokens == 4970 and by_source["pi"].cache_write_tokens == 800
    assert by_source["pi"].reported_cost == pytest.approx(0.01025)
    assert (by_source["goose"].input_tokens, by_source["goose"].output_tokens) == (5200, 700)   # the totals
    with StatementLog(db) as log:
        db.collect_all(["qwen", "pi", "goose"], roots=roots)
    assert log.changes == 0
