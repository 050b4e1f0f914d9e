"""Mirroring into a real PostgreSQL server: several machines, incremental, idempotent, resumable."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import apsw
import pytest

from helpers import BASE_TS, add_session, msg
from sessiondb import ApprovalStatus, DbConfig, MessageType, SessionDB, WriterType, open_archive
from sessiondb.mirror import MirrorError, RemoteArchive, schema, sync
from sessiondb.mirror.sync import SyncEngine

MACHINE_COLUMNS = ("uuid, local_id, session_id, type, content_text, content_full, timestamp, sequence, source, "
                   "channel, model, tool_call_id, tool_name, tool_args, raw, approval_status, approval_resolved_at, "
                   "search_text, token_count, digest")


def laptop_db(path: Path) -> Path:
    with SessionDB.connect(DbConfig.local(path)) as db:
        add_session(db, "aaaa-laptop-1", ["open the database file", "数据库连接失败了", "parse_session works"],
                    project="/home/me/app")
        add_session(db, "aaaa-laptop-2", ["heartbeat timeout", "src/sessiondb/db.py line 3"],
                    project="/home/me/tools", source="codex", role=MessageType.ASSISTANT)
    return path


def desktop_db(path: Path) -> Path:
    with SessionDB.connect(DbConfig.local(path)) as db:
        add_session(db, "bbbb-desktop-1", ["open the database file again", "我想用单文件方式"],
                    project="/home/me/app")
        add_session(db, "bbbb-desktop-2", ["SessionDB.connect fails", "heartbeat* ok"], project="/srv/api")
    return path


def dump(url: str, machine: str) -> dict[str, list[tuple]]:
    """Everything the mirror holds for a machine, without the mirror's own ids."""
    import psycopg
    with psycopg.connect(url) as conn:
        return {
            "messages": conn.execute(f"SELECT {MACHINE_COLUMNS} FROM messages WHERE machine = %s ORDER BY uuid",
                                     (machine,)).fetchall(),
            "sessions": conn.execute(
                "SELECT s.session_id, s.local_id, p.path, s.message_count, s.last_message_at, s.meta, s.updated_at "
                "FROM sessions s LEFT JOIN projects p ON p.id = s.project_id WHERE s.machine = %s "
                "ORDER BY s.session_id", (machine,)).fetchall(),
            "projects": conn.execute("SELECT path, local_id, name, source, updated_at FROM projects "
                                     "WHERE machine = %s ORDER BY path", (machine,)).fetchall(),
            "machine": conn.execute("SELECT messages_high_water, high_water_uuid FROM machines WHERE machine = %s",
                                    (machine,)).fetchall(),
        }


def test_schema_is_created_by_versioned_migrations_once(pg_url: str) -> None:
    import psycopg
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert schema.current_version(conn) == 0
        assert schema.migrate(conn) == [v for v, _, _ in schema.MIGRATIONS]
        assert schema.migrate(conn) == []
        assert schema.current_version(conn) == schema.LATEST_VERSION
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'messages'")}
    assert {"messages_search", "messages_unindexed"} <= indexes


def test_two_machines_share_one_mirror_and_are_searched_as_one(tmp_path: Path, pg_url: str) -> None:
    first = sync(laptop_db(tmp_path / "laptop.db"), pg_url, machine="laptop")
    second = sync(desktop_db(tmp_path / "desktop.db"), pg_url, machine="desktop")
    assert (first.messages_sent, second.messages_sent) == (5, 4)
    with RemoteArchive(pg_url) as archive:
        assert archive.get_stats().message_count == 9
        assert [m.machine for m in archive.machines()] == ["desktop", "laptop"]
        # The same project path on two machines stays two projects; one search finds both.
        hits = archive.search("database file", order=1)
        assert sorted(h.session_id for h in hits) == ["aaaa-laptop-1", "bbbb-desktop-1"]
        assert {h.project_path for h in hits} == {"/home/me/app"}
        assert [h.session_id for h in archive.search("database file", machine="desktop")] == ["bbbb-desktop-1"]
        assert [h.uuid for h in archive.search("数据库")] == ["aaaa-laptop-1-1"]
        assert [h.uuid for h in archive.search("单文件")] == ["bbbb-desktop-1-1"]
        assert [h.uuid for h in archive.search("SessionDB.connect")] == ["bbbb-desktop-2-0"]
        assert [h.uuid for h in archive.search("session", source="claude")] == ["aaaa-laptop-1-2"]
        assert {h.uuid for h in archive.search("heartbeat")} == {"aaaa-laptop-2-0", "bbbb-desktop-2-1"}
        assert [h.uuid for h in archive.search("heartbeat", role="assistant")] == ["aaaa-laptop-2-0"]
        assert [h.uuid for h in archive.search("heartbeat -ok")] == ["aaaa-laptop-2-0"]
        hit = archive.search("db.py", highlight=("[", "]"))[0]
        assert (hit.snippet, hit.project_name, hit.source) == ("src/sessiondb/[db.py] line 3", "tools", None)
        assert [h.uuid for h in archive.search("open", since=BASE_TS + 1, until=BASE_TS + 1)] == []
        assert len(archive.search("open", since=BASE_TS, until=BASE_TS)) == 2
        projects = archive.list_projects_with_stats(machine="laptop")
        assert sorted((p.path, p.session_count, p.message_count) for p in projects) == [
            ("/home/me/app", 1, 3), ("/home/me/tools", 1, 2)]
        app = archive.get_project_by_path("/home/me/app", machine="laptop")
        assert [h.uuid for h in archive.search("open", project_id=app.id)] == ["aaaa-laptop-1-0"]
        assert sorted(s.session_id for s in archive.get_sessions(machine="desktop", limit=None)) == [
            "bbbb-desktop-1", "bbbb-desktop-2"]
        assert [m.content_full for m in archive.list_messages("aaaa-laptop-2")] == [
            "heartbeat timeout", "src/sessiondb/db.py line 3"]
        assert archive.search_sessions_by_prefix("bbbb")[0].session_id.startswith("bbbb-desktop")


def test_sync_is_incremental_and_its_high_water_mark_survives_restarts(tmp_path: Path, pg_url: str) -> None:
    path = laptop_db(tmp_path / "laptop.db")
    assert sync(path, pg_url, machine="laptop").messages_sent == 5
    again = sync(path, pg_url, machine="laptop")          # a new connection, a new process would do the same
    assert (again.messages_sent, again.sessions_upserted, again.projects_upserted, again.changed) == (0, 0, 0, 0)
    with SessionDB.connect(DbConfig.local(path)) as db:
        db.insert_messages("aaaa-laptop-1", [msg("late-1", "a later message", seq=9)])
    later = sync(path, pg_url, machine="laptop")
    assert (later.messages_sent, later.sessions_upserted, later.high_water) == (1, 1, 6)
    with RemoteArchive(pg_url) as archive:
        assert archive.get_session("aaaa-laptop-1").message_count == 4
        assert [h.uuid for h in archive.search("later")] == ["late-1"]


def test_changed_old_messages_and_approvals_reach_the_mirror(tmp_path: Path, pg_url: str) -> None:
    path = laptop_db(tmp_path / "laptop.db")
    sync(path, pg_url, machine="laptop")
    # What a re-read of a rewritten OpenCode/Gemini file does: update a stored message in place.
    conn = apsw.Connection(str(path))
    conn.execute("UPDATE messages SET content_full = 'rewritten text', content_text = 'rewritten text' "
                 "WHERE uuid = 'aaaa-laptop-1-0'")
    conn.execute("UPDATE sessions SET updated_at = updated_at + 1 WHERE session_id = 'aaaa-laptop-1'")
    conn.close()
    with SessionDB.connect(DbConfig.local(path)) as db:
        db.update_approval_status("aaaa-laptop-2-0", ApprovalStatus.APPROVED, 123)
    result = sync(path, pg_url, machine="laptop")
    assert (result.messages_sent, result.messages_rechecked, result.approvals_updated) == (0, 1, 1)
    with RemoteArchive(pg_url) as archive:
        assert [h.uuid for h in archive.search("rewritten")] == ["aaaa-laptop-1-0"]
        assert archive.search("database file") == []
        approved = archive.list_messages("aaaa-laptop-2")[0]
        assert (approved.approval_status, approved.approval_resolved_at) == (ApprovalStatus.APPROVED, 123)


def test_a_replaced_database_file_is_sent_again_and_old_rows_stay(tmp_path: Path, pg_url: str) -> None:
    path = laptop_db(tmp_path / "laptop.db")
    sync(path, pg_url, machine="laptop")
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with SessionDB.connect(DbConfig.local(path)) as db:
        add_session(db, "cccc-new", ["fresh start", "second"], project="/home/me/app")
        add_session(db, "cccc-more", ["third", "fourth", "fifth"], project="/home/me/app")
    result = sync(path, pg_url, machine="laptop")
    assert result.restarted and result.messages_sent == 5
    with RemoteArchive(pg_url) as archive:
        assert archive.get_stats().message_count == 10       # an archive: nothing is deleted
        assert [h.uuid for h in archive.search("fresh")] == ["cccc-new-0"]


def test_a_reader_syncs_while_another_process_is_the_writer(tmp_path: Path, pg_url: str) -> None:
    path = laptop_db(tmp_path / "laptop.db")
    with SessionDB.connect(DbConfig.local(path)) as writer:
        writer.register_writer(WriterType.MEMEX_KIT)
        before = writer.current_writer()
        result = sync(path, pg_url, machine="laptop")
        assert result.messages_sent == 5
        assert writer.current_writer().writer_id == before.writer_id and writer.is_writer


def test_open_archive_picks_the_archive_by_target(tmp_path: Path, pg_url: str) -> None:
    path = laptop_db(tmp_path / "laptop.db")
    sync(path, pg_url, machine="laptop")
    with open_archive(pg_url) as remote, open_archive(path) as local:
        assert isinstance(remote, RemoteArchive) and isinstance(local, SessionDB) and local.read_only
        assert [h.uuid for h in remote.search("parse_session")] == [h.uuid for h in local.search("parse_session")]


def test_an_empty_mirror_database_is_a_clear_error(pg_url: str) -> None:
    with pytest.raises(MirrorError, match="no sessiondb mirror yet"):
        RemoteArchive(pg_url)


def test_nul_characters_and_odd_text_are_kept_not_fatal(tmp_path: Path, pg_url: str) -> None:
    many_words = " ".join(f"w{i}q" for i in range(150_000))       # too many distinct tokens for a tsvector
    path = tmp_path / "odd.db"
    texts = ["before\x00after", "", "   ", "🙂 emoji ok", "x" * 200_000, many_words + " needle"]
    with SessionDB.connect(DbConfig.local(path)) as db:
        add_session(db, "odd", texts)
    assert sync(path, pg_url, machine="odd").messages_sent == 6
    with RemoteArchive(pg_url) as archive, SessionDB.connect(DbConfig.local(path, read_only=True)) as local:
        assert archive.list_messages("odd")[0].content_full == "before\ufffdafter"
        for query in ("emoji", "x" * 600 + "*", "x" * 1000, "needle", "w149999q", "w1234q needle", '"w7q w8q"',
                      '"w8q w7q"', "w14999*"):
            want = [h.uuid for h in local.search(query, limit=50)]
            assert sorted(h.uuid for h in archive.search(query, limit=50)) == sorted(want), query
        assert [h.uuid for h in archive.search("x" * 600 + "*")] == ["odd-4"]
        assert [h.uuid for h in archive.search('"w7q w8q"')] == ["odd-5"]


# ---------------------------------------------------------------------------- killed and resumed
SYNC_SCRIPT = """
import sys
from sessiondb.mirror import sync
sync(sys.argv[1], sys.argv[2], machine="box", batch_size=int(sys.argv[3]),
     progress=lambda result: print(result.high_water, flush=True))   # one line per committed batch
"""


def build_corpus(path: Path, sessions: int, per_session: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    words = ["alpha", "beta", "数据", "库", "parse_session", "db.py", "error", "the", "file", "heartbeat"]
    with SessionDB.connect(DbConfig.local(path)) as db:
        for s in range(sessions):
            texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 30))) for _ in range(per_session)]
            add_session(db, f"s{s:04d}", texts, project=f"/p/{s % 7}", start_ts=BASE_TS + s * 10_000_000)
    return path


def test_sync_killed_at_random_points_then_rerun_equals_one_clean_sync(tmp_path: Path, pg_cluster) -> None:
    """SIGKILL a sync process at random points of its run (after 0-2 committed batches and a
    random few milliseconds more, so inside a batch as often as between), the archive growing
    in between, then one more run: the mirror equals a clean sync, row for row. A longer run:
    SESSIONDB_MIRROR_KILL_ROUNDS=100 SESSIONDB_MIRROR_KILL_SEED=<n>."""
    rounds = int(os.environ.get("SESSIONDB_MIRROR_KILL_ROUNDS", "6"))
    path = build_corpus(tmp_path / "box.db", sessions=60, per_session=50)     # 3000 messages
    clean_url, killed_url = pg_cluster.url(pg_cluster.new_database()), pg_cluster.url(pg_cluster.new_database())
    sync(path, clean_url, machine="box", batch_size=100)
    rng = random.Random(int(os.environ.get("SESSIONDB_MIRROR_KILL_SEED", "16")))
    killed_mid_sync = grown = 0
    for round_no in range(rounds):
        proc = subprocess.Popen([sys.executable, "-c", SYNC_SCRIPT, str(path), killed_url, "100"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Kill by progress, not by the clock: a fast machine must not finish before the kill.
        for _ in range(rng.randint(0, 2)):
            if not proc.stdout.readline():
                break
        time.sleep(rng.uniform(0, 0.05))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_sync += 1
        proc.communicate()
        with SessionDB.connect(DbConfig.local(path)) as db:   # the archive keeps growing between runs
            n = db.get_stats().message_count
            db.insert_messages("s0001", [msg(f"grow-{n}", f"grown {n} error", seq=1000 + n)])
            add_session(db, f"grown{round_no}", [f"round {round_no} text {i}" for i in range(450)],
                        start_ts=BASE_TS + (100 + round_no) * 10_000_000)
            grown += 451
    clean_after = sync(path, clean_url, machine="box", batch_size=100)
    assert clean_after.messages_sent == grown
    sync(path, killed_url, machine="box", batch_size=100)
    assert killed_mid_sync >= rounds // 2
    assert dump(killed_url, "box") == dump(clean_url, "box")


# ---------------------------------------------------------------------------- connection failures
def test_lost_connection_mid_sync_is_one_line_and_the_next_run_resumes(tmp_path: Path, pg_cluster) -> None:
    path = build_corpus(tmp_path / "box.db", sessions=20, per_session=50)     # 1000 messages
    url = pg_cluster.url(pg_cluster.new_database())
    batches = []

    def cut_after_two_batches(result) -> None:
        batches.append(result.high_water)
        if len(batches) == 2:
            pg_cluster.admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE application_name = 'sessiondb-mirror'")

    with SyncEngine(url, "box") as engine:
        with pytest.raises(MirrorError) as failure:
            engine.run(path, batch_size=100, progress=cut_after_two_batches)
        message = str(failure.value)
        assert "lost the connection" in message and "\n" not in message and "s3cret" not in message
        assert dump(url, "box")["machine"][0][0] == batches[-1] == 200     # what was committed stays
        resumed = engine.run(path, batch_size=100)      # the same engine connects again (watch does this)
    assert (resumed.messages_sent, resumed.high_water) == (800, 1000)
    assert len(dump(url, "box")["messages"]) == 1000


def test_connection_errors_are_one_line_without_the_password(pg_cluster, tmp_path: Path) -> None:
    path = laptop_db(tmp_path / "laptop.db")
    good = pg_cluster.url(pg_cluster.new_database())
    cases = {
        "refused": (good.replace(f":{pg_cluster.port}/", ":1/"), "connection refused"),
        "password": (good.replace("s3cret-pw", "wrong-pw"), "refused the credentials"),
        "database": (good.rsplit("/", 1)[0] + "/no_such_db", 'database "no_such_db" does not exist'),
    }
    for url, expected in cases.values():
        with pytest.raises(MirrorError) as failure:
            sync(path, url, machine="laptop")
        text = str(failure.value)
        assert expected in text and "\n" not in text and "s3cret-pw" not in text and "wrong-pw" not in text


def test_credentials_from_pgpass_and_pg_variables(pg_cluster, tmp_path: Path, monkeypatch) -> None:
    from pg_server import PASSWORD, USER
    path = laptop_db(tmp_path / "laptop.db")
    name = pg_cluster.new_database()
    bare = pg_cluster.url(name, password=None)
    pgpass = Path(os.environ["HOME"]) / ".pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_cluster.port}:{name}:{USER}:{PASSWORD}\n")
    pgpass.chmod(0o600)
    assert sync(path, bare, machine="laptop").messages_sent == 5
    pgpass.unlink()
    with pytest.raises(MirrorError, match="credentials"):
        sync(path, bare, machine="laptop")
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    monkeypatch.setenv("PGSSLMODE", "disable")         # a TLS option passed through to libpq
    assert sync(path, bare, machine="laptop").changed == 0
    monkeypatch.setenv("PGSSLMODE", "require")         # the test server has no TLS: libpq says so
    with pytest.raises(MirrorError, match="SSL|ssl"):
        sync(path, bare + "?sslmode=require", machine="laptop")


def test_two_syncs_of_one_machine_at_once_end_in_one_state(tmp_path: Path, pg_cluster) -> None:
    path = build_corpus(tmp_path / "box.db", sessions=20, per_session=50)
    url = pg_cluster.url(pg_cluster.new_database())
    sync(laptop_db(tmp_path / "other.db"), url, machine="other")     # the schema exists before the race
    errors: list[BaseException] = []

    def run() -> None:
        try:
            sync(path, url, machine="box", batch_size=50)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    state = dump(url, "box")
    assert len(state["messages"]) == 1000 and state["machine"][0][0] == 1000
