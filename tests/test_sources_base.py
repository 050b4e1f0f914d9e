"""The source base: a new agent is one small class, and gets roots, units, lenient
decoding, bad-line counting, unknown and skipped records, times and incremental reads
from the base. Shown with a made-up JSONL agent collected through the real collector."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from collect_helpers import rows

from sessiondb import MessageType, SessionDB
from sessiondb.errors import InvalidArgument
from sessiondb.sources import SOURCES, LineParser, LineSource, SessionRecord, SourceUnit, content, source_for
from sessiondb.sources import roots as roots_module
from sessiondb.sources.base import own_time
from sessiondb.sources.lenient import LenientDecoder
from sessiondb.sources.roots import RootSpec


# --------------------------------------------------------------------------- a new source, in full
class Line(msgspec.Struct):
    kind: str | None = None
    id: str | None = None
    at: str | None = None
    text: str | None = None
    tool: str | None = None
    args: str | None = None


class ToyParser(LineParser):
    decoder = LenientDecoder(Line)

    @property
    def session_id(self) -> str:
        return Path(self.unit.path).stem

    def session(self) -> SessionRecord:
        return SessionRecord(self.session_id, self.source.name, project_path="/toy", project_name="toy")

    def convert(self, line: Line, raw: str) -> None:
        at = own_time(line.at)
        if line.kind == "say":
            self.emit(line.id or self.synthetic_uuid("say", raw), MessageType.USER, line.text or "",
                      line.text or "", raw, at=at)
        elif line.kind == "call":
            self.emit(line.id or self.synthetic_uuid("call", raw), MessageType.ASSISTANT, "",
                      content.tool_call(line.tool, line.args), raw, at=at, tool=(line.id, line.tool, line.args))
        elif line.kind == "tick":
            self.skip("tick")
        else:
            self.unknown(line.kind or "(no kind)", raw, uuid=line.id, at=at)


class ToySource(LineSource):
    name = "toy"
    parser_version = 1
    roots_spec = RootSpec("TOY_PATH", (("TOY_HOME", "logs"),), (".toy/logs",))
    parser = ToyParser

    def discover(self, roots: Iterable[Path], known: Any = None) -> Iterator[SourceUnit]:
        for root in roots:
            for entry in roots_module.list_dir(root, sort=True):
                if entry.name.endswith(".jsonl"):
                    unit = self.entry_unit(entry)
                    if unit is not None:
                        yield unit

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        for root in roots:
            rel = roots_module.is_within(path, root)
            if rel is not None and len(rel.parts) == 1 and rel.name.endswith(".jsonl"):
                return self.stat_unit(os.fspath(path))
        return None


# --------------------------------------------------------------------------- tests
@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> ToySource:
    source = ToySource()
    monkeypatch.setitem(SOURCES, source.name, source)
    return source


LINES = [
    json.dumps({"kind": "note", "text": "before any time"}),
    json.dumps({"kind": "say", "id": "s1", "at": "2025-09-14T09:30:00Z", "text": "hello 你好"}),
    "not json at all",
    json.dumps({"kind": "tick", "at": "2025-09-14T09:31:00Z"}),
    json.dumps({"kind": "call", "id": "c1", "at": "2025-09-14T09:32:00Z", "tool": "grep", "args": ""}),
    json.dumps({"kind": "say", "id": 7, "text": "a number for an id, no time"}),
]


def test_a_new_source_is_collected_with_everything_the_base_gives(db: SessionDB, tmp_path: Path,
                                                                   toy: ToySource) -> None:
    root = tmp_path / "toy"
    root.mkdir()
    (root / "t1.jsonl").write_text("\n".join(LINES) + "\n")
    result = db.collect_all(["toy"], roots={"toy": root})
    assert result.messages_inserted == 4 and result.bad_lines == 2   # the broken line, the coerced id
    assert result.unknown_records == {"note": 1} and result.skipped_records == {"tick": 1}
    messages = db.list_messages("t1")
    assert [m.content_full for m in messages] == [
        f"[note] {LINES[0]}", "hello 你好", "[Tool: grep]", "a number for an id, no time"]
    assert messages[0].raw == LINES[0] and messages[0].type == MessageType.SYSTEM
    assert messages[3].uuid == "7"
    start = 1757842200000
    assert [m.timestamp for m in messages] == [start, start, start + 120_000, start + 120_000]
    assert [m.sequence for m in messages] == [0, 1, 2, 3]
    assert db.search("你好")[0].session_id == "t1"


def test_a_new_source_reads_appends_as_one_read(db: SessionDB, tmp_path: Path, toy: ToySource) -> None:
    root = tmp_path / "toy"
    root.mkdir()
    path = root / "t1.jsonl"
    path.write_text(LINES[0] + "\n")
    db.collect_all(["toy"], roots={"toy": root})
    with path.open("a") as handle:
        handle.write("\n".join(LINES[1:]) + "\n")
    db.collect_by_path(path, roots={"toy": root})
    other = SessionDB.connect(tmp_path / "once.db")
    once_root = tmp_path / "once"
    once_root.mkdir()
    (once_root / "t1.jsonl").write_text("\n".join(LINES) + "\n")
    other.collect_all(["toy"], roots={"toy": once_root})
    assert rows(db) == rows(other)
    assert db.get_session("t1").last_message_at == other.get_session("t1").last_message_at
    other.close()


def test_roots_come_from_the_argument_then_the_environment_then_home(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path, toy: ToySource) -> None:
    assert toy.resolve_roots() == [tmp_path / "home" / ".toy" / "logs"]
    monkeypatch.setenv("TOY_HOME", f"{tmp_path / 'a'},{tmp_path / 'b'},{tmp_path / 'a'}")
    assert toy.resolve_roots() == [tmp_path / "a" / "logs", tmp_path / "b" / "logs"]
    monkeypatch.setenv("TOY_PATH", str(tmp_path / "direct"))
    assert toy.resolve_roots() == [tmp_path / "direct"]
    assert toy.resolve_roots(tmp_path / "given") == [tmp_path / "given"]
    assert toy.describe_roots() == "$TOY_PATH, else $TOY_HOME/logs (comma-separated lists), else ~/.toy/logs"
    assert toy.roots_spec.variables == ("TOY_PATH", "TOY_HOME")


def test_units_are_regular_files_only(tmp_path: Path, toy: ToySource) -> None:
    os.mkfifo(tmp_path / "pipe.jsonl")
    (tmp_path / "dir.jsonl").mkdir()
    (tmp_path / "real.jsonl").write_text("{}\n")
    assert [u.path for u in toy.discover([tmp_path])] == [str(tmp_path / "real.jsonl")]
    assert toy.unit_for_path(tmp_path / "pipe.jsonl", [tmp_path]) is None


def test_every_registered_source_describes_its_roots() -> None:
    for name, source in SOURCES.items():
        assert source.name == name and source_for(name) is source
        assert source.describe_roots().startswith(f"${source.roots_spec.variable}")
    with pytest.raises(InvalidArgument, match="unknown source 'nope'"):
        source_for("nope")
