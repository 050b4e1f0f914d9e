"""``sessiondb usage``, driven as a user would: in a subprocess, on files of the four agents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from collect_helpers import only
from terminal import run_on_pty, sessiondb_env, visible
from usage_shapes import (CLAUDE_PARENT, CLAUDE_PROJECT, codex_head, codex_path, codex_tail, count_claude,
                          count_codex, count_gemini, count_opencode, jsonl, write_claude, write_gemini,
                          write_opencode)

from sessiondb import SessionDB


def run(*args: str, db: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, "TZ": "UTC"}
    base.pop("SESSIONDB_PRICES", None)
    return subprocess.run([sys.executable, "-m", "sessiondb.cli", *args, "--db", str(db)], capture_output=True,
                          text=True, timeout=60, env={**base, **(env or {})})


@pytest.fixture(scope="module")
def usage_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    tmp = tmp_path_factory.mktemp("usage-cli")
    claude = tmp / "claude"
    parent, _ = write_claude(claude)
    jsonl(codex_path(tmp / "codex"), codex_head() + codex_tail())
    write_opencode(tmp / "opencode")
    gemini = write_gemini(tmp / "gemini")
    path = tmp / "usage.db"
    roots = {**only("claude", claude, tmp), "codex": str(tmp / "codex"), "opencode": str(tmp / "opencode"),
             "gemini": str(tmp / "gemini")}
    with SessionDB.connect(str(path)) as db:
        db.collect_by_path(parent, roots=roots)
        db.collect_all(roots=roots)
    expected = {"claude": count_claude(claude.rglob("*.jsonl"))["total"],
                "codex": count_codex(codex_path(tmp / "codex"))["total"],
                "opencode": count_opencode(tmp / "opencode")["total"], "gemini": count_gemini(gemini)["total"]}
    return path, expected


def test_json_rows_and_total_match_the_files(usage_db: tuple[Path, dict[str, int]]) -> None:
    path, expected = usage_db
    done = run("usage", "--by", "source", "--json", db=path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {r["key"]: r["total_tokens"] for r in report["rows"]} == expected
    assert report["total"]["total_tokens"] == sum(expected.values())
    assert report["prices"]["date"] and report["prices"]["files"] == []
    assert report["total"]["unpriced_models"] == ["kimi-k2-local"]


def test_table_by_model_names_models_without_a_price(usage_db: tuple[Path, dict[str, int]]) -> None:
    path, expected = usage_db
    done = run("usage", "--by", "model", db=path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["model", "sessions", "calls"]
    kimi = next(line for line in lines if line.startswith("kimi-k2-local"))
    assert kimi.endswith("no price") and "$" not in kimi
    total = next(line for line in lines if line.startswith("total"))
    assert f"{sum(expected.values()):,}" in total and total.endswith("+ no price")
    assert "no price for kimi-k2-local" in done.stderr and "prices of 20" in done.stderr


def test_days_filters_and_a_user_price_file(usage_db: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    path, expected = usage_db
    days = json.loads(run("usage", "--json", "--utc", db=path).stdout)["rows"]
    assert [d["key"] for d in days] == ["2025-09-01", "2025-09-02", "2025-09-03", "2025-09-05", "2025-09-08",
                                        "2025-10-20"]
    one = json.loads(run("usage", "--json", "--utc", "--since", "2025-09-02", "--until", "2025-09-03",
                         db=path).stdout)["rows"]
    assert [d["key"] for d in one] == ["2025-09-02", "2025-09-03"]
    by_session = json.loads(run("usage", "--json", "--by", "session", "--session", CLAUDE_PARENT[:8],
                                db=path).stdout)["rows"]
    assert [r["key"] for r in by_session] == [CLAUDE_PARENT]
    shop = json.loads(run("usage", "--json", "--by", "project", "--project", "shop", db=path).stdout)["rows"]
    assert [r["key"] for r in shop] == ["/work/shop"] and shop[0]["total_tokens"] == expected["claude"]
    codex = json.loads(run("usage", "--json", "--source", "codex", db=path).stdout)["total"]
    assert codex["total_tokens"] == expected["codex"]

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"kimi-k2-local": {"input": 1, "output": 2}}}))
    for extra, env in ((["--prices", str(prices)], None), ([], {"SESSIONDB_PRICES": str(prices)}),
                       ([], {"XDG_CONFIG_HOME": str(_config_home(tmp_path, prices))})):
        total = json.loads(run("usage", "--json", "--by", "model", *extra, db=path, env=env).stdout)
        kimi = next(r for r in total["rows"] if r["key"] == "kimi-k2-local")
        assert kimi["cost"] == pytest.approx((900 * 1 + 60 * 2) / 1e6), extra or env
        assert total["total"]["unpriced_models"] == []


def _config_home(tmp_path: Path, prices: Path) -> Path:
    home = tmp_path / "config"
    (home / "sessiondb").mkdir(parents=True, exist_ok=True)
    (home / "sessiondb" / "prices.json").write_text(prices.read_text())
    return home


def test_mistakes_get_one_line_and_a_hint(usage_db: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    path, _ = usage_db
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for args, words in ((["--prices", str(bad)], "not JSON"), (["--since", "last tuesday"], "--since"),
                        (["--by", "hour"], "invalid choice"), (["--project", "nowhere-at-all"], "no project")):
        done = run("usage", *args, db=path)
        assert done.returncode in (1, 2), (args, done.returncode)
        assert words in done.stderr and "Traceback" not in done.stderr, done.stderr
    empty = tmp_path / "empty.db"
    SessionDB.connect(str(empty)).close()
    done = run("usage", db=empty)
    assert done.returncode == 1 and "run `sessiondb collect`" in done.stderr


def test_stored_model_names_cannot_drive_the_terminal(tmp_path: Path) -> None:
    root = tmp_path / "claude"
    line = {"type": "assistant", "uuid": "evil-1", "timestamp": "2025-09-01T10:00:00.000Z", "cwd": "/work/evil",
            "sessionId": "evil", "message": {"id": "msg_evil", "role": "assistant",
                                            "model": "bad\x1b]0;owned\x07\x1b[31mmodel",
                                            "content": [{"type": "text", "text": "hi"}],
                                            "usage": {"input_tokens": 5, "output_tokens": 1}}}
    jsonl(root / CLAUDE_PROJECT / "evil.jsonl", [line])
    path = tmp_path / "evil.db"
    with SessionDB.connect(str(path)) as db:
        db.collect_all(["claude"], roots=only("claude", root, tmp_path))
    home = tmp_path / "home2"
    home.mkdir()
    code, output = run_on_pty(["usage", "--by", "model", "--db", str(path)], env=sessiondb_env(path, home))
    assert code == 0
    assert b"\x1b]0;owned" not in output and b"\x07" not in output and b"\x1b[31mmodel" not in output
    assert "owned" in visible(output) and "no price" in visible(output)
