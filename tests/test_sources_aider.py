"""Aider: the markdown chat history of a project, one session per run, found under the
configured roots and in the projects other sources' sessions name."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from agent_helpers import collect, contents, meta, project_of
from collect_helpers import StatementLog, only, rows

from sessiondb import SessionDB
from sessiondb.collector import Collector
from sessiondb.sources import aider

RUN_1 = """
# aider chat started at 2025-05-01 10:00:00

> /usr/local/bin/aider --model sonnet  
> Aider v0.82.2  
> Main model: anthropic/claude-3-7-sonnet-20250219 with diff edit format, infinite output  
> Weak model: anthropic/claude-3-5-haiku-20241022  
> Git repo: .git with 12 files  

#### add a retry to fetch_orders  
#### with exponential backoff  

I'll add the retry loop.

api.py
```python
<<<<<<< SEARCH
def fetch_orders():
=======
@retry(backoff=2)
def fetch_orders():
>>>>>>> REPLACE
```

> Tokens: 2.3k sent, 120 received.  
> Applied edit to api.py  
> Commit 1a2b3c4 feat: retry fetch_orders  

#### /run pytest -q  

> 3 passed  
"""

RUN_2 = """
# aider chat started at 2025-05-02 09:30:00

> Aider v0.83.0  
> Model: gpt-4o with diff edit format  

#### 说明一下 fetch_orders  

It fetches orders with retries.

"""


def _ms(stamp: str) -> int:
    return int(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").timestamp() * 1000)


def _runs(db: SessionDB) -> list[str]:
    return sorted(s.session_id for s in db.get_sessions(limit=100) if s.session_id.startswith("aider-"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "code" / "shop-api"
    folder.mkdir(parents=True)
    (folder / ".git").mkdir()
    return folder


def test_each_run_is_a_session_with_user_assistant_aider_output_and_commands(db: SessionDB, project: Path,
                                                                           tmp_path: Path) -> None:
    (project / aider.HISTORY).write_text(RUN_1 + RUN_2, encoding="utf-8")
    result = collect(db, "aider", tmp_path / "code", tmp_path)   # a root two levels above the file
    assert result.error_count == 0
    first, second = _runs(db)
    assert contents(db, first) == [
        ("system", "[aider] /usr/local/bin/aider --model sonnet\nAider v0.82.2\n"
                   "Main model: anthropic/claude-3-7-sonnet-20250219 with diff edit format, infinite output\n"
                   "Weak model: anthropic/claude-3-5-haiku-20241022\nGit repo: .git with 12 files"),
        ("user", "add a retry to fetch_orders\nwith exponential backoff"),
        ("assistant", "I'll add the retry loop.\n\napi.py\n```python\n<<<<<<< SEARCH\ndef fetch_orders():\n"
                      "=======\n@retry(backoff=2)\ndef fetch_orders():\n>>>>>>> REPLACE\n```"),
        ("system", "[aider] Tokens: 2.3k sent, 120 received.\nApplied edit to api.py\n"
                   "Commit 1a2b3c4 feat: retry fetch_orders"),
        ("user", "[Tool: run] pytest -q"),
        ("tool", "[Result] 3 passed"),
    ]
    messages = db.list_messages(first)
    assert {m.timestamp for m in messages} == {_ms("2025-05-01 10:00:00")}
    assert messages[2].model == "anthropic/claude-3-7-sonnet-20250219"
    assert messages[5].tool_call_id == messages[4].tool_call_id
    assert contents(db, second) == [("system", "[aider] Aider v0.83.0\nModel: gpt-4o with diff edit format"),
                                    ("user", "说明一下 fetch_orders"),
                                    ("assistant", "It fetches orders with retries.")]
    assert db.list_messages(second)[2].model == "gpt-4o"
    assert project_of(db, first) == project_of(db, second) == str(project)
    assert meta(db, second)["aider_version"] == "0.83.0" and meta(db, first)["started_at"] == "2025-05-01 10:00:00"


def test_appends_extend_the_last_block_and_start_new_runs_exactly_as_one_read(db: SessionDB, project: Path,
                                                                             tmp_path: Path) -> None:
    path = project / aider.HISTORY
    data = (RUN_1 + RUN_2).encode()
    cut = data.index(b"> Applied edit")   # inside a block of aider output
    path.write_bytes(data[:cut])
    root = tmp_path / "code"
    collect(db, "aider", root, tmp_path)
    with StatementLog(db) as log:
        warm = collect(db, "aider", root, tmp_path)
    assert log.writes == [] and warm.files_read == 0
    with path.open("ab") as handle:
        handle.write(data[cut:])
    grown = collect(db, "aider", root, tmp_path)
    assert grown.files_reparsed == 0 and grown.messages_updated == 1
    whole = SessionDB.connect(tmp_path / "whole.db")
    collect(whole, "aider", root, tmp_path)
    assert rows(db) == rows(whole)
    whole.close()
    # Vanished: the runs stay.
    kept = rows(db)
    path.unlink()
    collect(db, "aider", root, tmp_path)
    assert rows(db) == kept


def test_history_files_are_found_in_projects_other_sources_name(db: SessionDB, project: Path,
                                                                tmp_path: Path) -> None:
    (project / aider.HISTORY).write_text(RUN_2, encoding="utf-8")
    claude_root = tmp_path / "claude"
    session = claude_root / "-code-shop-api" / "c1.jsonl"
    session.parent.mkdir(parents=True)
    # The other agent worked in a subdirectory; aider writes at the git root.
    session.write_text(json.dumps({"type": "user", "uuid": "u1", "timestamp": "2025-05-02T08:00:00Z",
                                   "cwd": str(project / "src"), "message": {"content": "hi"}}) + "\n")
    roots = only("claude", claude_root, tmp_path)
    roots.pop("aider")   # no aider root at all
    result = Collector(db, roots=roots).collect_all()
    assert result.error_count == 0
    assert len(_runs(db)) == 1 and project_of(db, _runs(db)[0]) == str(project)
    with StatementLog(db) as log:
        Collector(db, roots=roots).collect_all()
    assert log.writes == []


def test_a_history_file_is_collected_by_path_and_named_by_the_environment(db: SessionDB, project: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = project / aider.HISTORY
    path.write_text(RUN_2, encoding="utf-8")
    assert Collector(db).collect_by_path(path).messages_inserted == 3
    monkeypatch.setenv("AIDER_CHAT_HISTORY_FILE", str(path))
    assert aider.SOURCE.resolve_roots() == [path]
    assert [u.path for u in aider.SOURCE.discover(aider.SOURCE.resolve_roots())] == [str(path)]


def test_a_file_without_a_header_and_with_invalid_utf8(db: SessionDB, project: Path, tmp_path: Path) -> None:
    (project / aider.HISTORY).write_bytes(b"#### hello \xff there  \n\nreply\n")
    result = collect(db, "aider", project, tmp_path)
    assert result.error_count == 0
    (run,) = _runs(db)
    assert contents(db, run) == [("user", "hello \ufffd there"), ("assistant", "reply")]


def test_user_messages_take_their_time_from_the_input_history(db: SessionDB, project: Path, tmp_path: Path) -> None:
    (project / aider.HISTORY).write_text(RUN_1 + RUN_2, encoding="utf-8")
    # prompt_toolkit's file history: "# <local time>" then the input's lines after "+".
    (project / aider.INPUT_HISTORY).write_text(
        "\n# 2025-04-30 08:00:00.000000\n+add a retry to fetch_orders\n+with exponential backoff\n"   # an older run
        "\n# 2025-05-01 10:00:20.250000\n+add a retry to fetch_orders\n+with exponential backoff\n"
        "\n# 2025-05-01 10:03:00.000000\n+/run pytest -q\n"
        "\n# 2025-05-02 09:31:10.000000\n+说明一下 fetch_orders\n", encoding="utf-8")
    collect(db, "aider", project, tmp_path)
    first, second = _runs(db)
    times = [(m.type.value, m.timestamp) for m in db.list_messages(first)]
    asked, ran = _ms("2025-05-01 10:00:20") + 250, _ms("2025-05-01 10:03:00")
    assert times == [("system", _ms("2025-05-01 10:00:00")), ("user", asked), ("assistant", asked),
                     ("system", asked), ("user", ran), ("tool", ran)]
    assert [m.timestamp for m in db.list_messages(second)][1:] == [_ms("2025-05-02 09:31:10")] * 2
