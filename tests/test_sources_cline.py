"""Cline and Roo Code: task folders of api_conversation_history.json, dated by ui_messages.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from collect_helpers import only
from store_builders import write_json

from sessiondb import MessageType, SessionDB
from sessiondb.sources import cline

TASK = "1761040000000"
T0 = 1_761_040_000_000
ENV = ("<environment_details>\n# VSCode Visible Files\nsrc/app.ts\n\n"
       "# Current Working Directory (/home/dev/shop) Files\nsrc/\n</environment_details>")


def history(native_tools: bool = True) -> list[dict]:
    """A task's API history: newer Cline calls tools natively, older versions wrote XML in the text."""
    first = {"role": "user", "content": [{"type": "text", "text": "<task>\nFix the cart total 修复\n</task>"},
                                         {"type": "text", "text": ENV}]}
    if native_tools:
        call = {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Read the cart first."},
            {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "src/cart.ts"}}]}
        result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                               "content": [{"type": "text", "text": "export const total = 0"}]}]}
    else:
        call = {"role": "assistant", "content": "<read_file>\n<path>src/cart.ts</path>\n</read_file>"}
        result = {"role": "user", "content": [{"type": "text", "text": "[read_file for 'src/cart.ts'] Result:"},
                                              {"type": "text", "text": "export const total = 0"}]}
    reply = {"role": "assistant", "content": [{"type": "text", "text": "The total ignores quantities; fixed."},
                                              {"type": "hologram"}]}
    return [first, call, result, reply]


def ui_messages(indexed: bool = True) -> list[dict]:
    entries = [("say", "task", -1, 0), ("say", "api_req_started", -1, 1000), ("say", "tool", 0, 4000),
               ("say", "api_req_started", 1, 5000), ("say", "completion_result", 2, 9000)]
    out = []
    for kind, say, index, offset in entries:
        entry = {"ts": T0 + offset, "type": kind, "say": say, "text": "..."}
        if indexed:
            entry["conversationHistoryIndex"] = index
        out.append(entry)
    return out


def task_dir(root: Path, task: str = TASK, *, native: bool = True, indexed: bool = True) -> Path:
    folder = root / "tasks" / task
    write_json(folder / "api_conversation_history.json", history(native))
    write_json(folder / "ui_messages.json", ui_messages(indexed))
    write_json(folder / "task_metadata.json", {"files_in_context": [], "model_usage": [
        {"ts": T0 + 500, "model_id": "claude-sonnet-4-5", "model_provider_id": "anthropic", "mode": "act"}]})
    return folder


def test_task_messages_tools_times_and_project(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "Code" / "User" / "globalStorage" / "saoudrizwan.claude-dev"
    task_dir(root)
    result = db.collect_all(["cline"], roots=only("cline", root, tmp_path))
    assert (result.sessions_scanned, result.messages_inserted, result.error_count) == (1, 4, 0)
    assert result.unknown_records == {"block:hologram": 1}
    user, call, tool, reply = db.list_messages(TASK)
    assert (user.type, user.uuid, user.timestamp) == (MessageType.USER, f"{TASK}:0", T0)
    assert user.content_text == "<task>\nFix the cart total 修复\n</task>"   # environment details in full only
    assert "Current Working Directory" in user.content_full
    assert call.content_full.split("\n") == ["[Thinking] Read the cart first.",
                                             '[Tool: read_file] {"path":"src/cart.ts"}']
    assert (call.tool_name, call.model, call.timestamp) == ("read_file", "claude-sonnet-4-5", T0 + 4000)
    assert (tool.type, tool.content_full, tool.timestamp) == (MessageType.TOOL, "[Result] export const total = 0",
                                                              T0 + 5000)
    assert reply.timestamp == T0 + 9000
    session = db.get_session(TASK)
    meta = json.loads(session.meta)
    assert (meta["title"], meta["extension"]) == ("Fix the cart total 修复", "cline")
    assert db.get_project(session.project_id).path == "/home/dev/shop"


def test_older_versions_xml_tools_and_no_history_index(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "cline"
    task_dir(root, native=False, indexed=False)
    db.collect_all(["cline"], roots=only("cline", root, tmp_path))
    user, call, result, reply = db.list_messages(TASK)
    assert call.type == MessageType.ASSISTANT and "<read_file>" in call.content_full
    assert result.type == MessageType.USER
    # Without the index, each reply takes its request's time; the rest their neighbours'.
    assert [m.timestamp for m in (user, call, result, reply)] == [T0, T0 + 1000, T0 + 1000, T0 + 5000]


def test_rewrite_updates_and_truncation_duplicates_nothing(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "cline"
    folder = task_dir(root)
    roots = only("cline", root, tmp_path)
    db.collect_all(["cline"], roots=roots)
    assert db.collect_all(["cline"], roots=roots).files_read == 0
    messages = history()
    messages[3] = {"role": "assistant", "content": "The total now multiplies by quantity.", "ts": T0 + 7000}
    messages.append({"role": "user", "content": "thanks", "ts": T0 + 8000})
    write_json(folder / "api_conversation_history.json", messages)
    result = db.collect_by_path(folder / "api_conversation_history.json", roots=roots)
    assert (result.messages_inserted, result.messages_updated) == (1, 1)
    assert db.list_messages(TASK)[3].timestamp == T0 + 7000
    write_json(folder / "api_conversation_history.json", messages[:2])   # a checkpoint restore
    again = db.collect_all(["cline"], roots=roots)
    assert again.messages_inserted == 0 and len(db.list_messages(TASK)) == 5
    (folder / "api_conversation_history.json").write_text("[{broken")
    broken = db.collect_all(["cline"], roots=roots)
    assert broken.error_count == 1 and len(db.list_messages(TASK)) == 5
    shutil.rmtree(folder)
    gone = db.collect_all(["cline"], roots=roots)
    assert gone.error_count == 0 and len(db.list_messages(TASK)) == 5   # an archive keeps the rows


def test_roo_code_subtasks_from_history_item(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "Code" / "User" / "globalStorage" / "rooveterinaryinc.roo-cline"
    task_dir(root, "0199a1b2-parent")
    child = task_dir(root, "0199a1b2-child")
    write_json(child / "history_item.json", {"id": "0199a1b2-child", "ts": T0, "task": "Write the cart tests",
                                             "workspace": "/home/dev/shop", "parentTaskId": "0199a1b2-parent",
                                             "rootTaskId": "0199a1b2-parent"})
    db.collect_all(["cline"], roots=only("cline", root, tmp_path))
    meta = json.loads(db.get_session("0199a1b2-child").meta)
    assert (meta["parent_session_id"], meta["session_type"], meta["title"], meta["extension"]) == (
        "0199a1b2-parent", "subagent", "Write the cart tests", "roo-code")


def test_default_roots_cover_editors_and_extensions(tmp_path: Path) -> None:
    roots = [str(r) for r in cline.SOURCE.resolve_roots()]
    home = str(tmp_path / "home")
    assert f"{home}/.config/Code/User/globalStorage/saoudrizwan.claude-dev" in roots
    assert f"{home}/.config/Cursor/User/globalStorage/rooveterinaryinc.roo-cline" in roots
    assert f"{home}/Library/Application Support/VSCodium/User/globalStorage/saoudrizwan.claude-dev" in roots
    assert f"{home}/.config/Code - Insiders/User/globalStorage/rooveterinaryinc.roo-cline" in roots
