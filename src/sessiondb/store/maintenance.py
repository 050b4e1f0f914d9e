"""Statistics, checks and repairs of the database file and its search indexes."""

from __future__ import annotations

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from .core import Store

from ..errors import DatabaseError, InvalidArgument
from ..models import IntegrityCheckResult, SourceCounts, Stats
from .connection import scalar

CHECKPOINT_MODES = ("PASSIVE", "FULL", "RESTART", "TRUNCATE")


class Maintenance:
    """What ``status`` and ``doctor`` ask of the database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get_stats(self) -> Stats:
        """Counts of projects, sessions and messages, read from one snapshot."""
        with self._store.snapshot() as conn:
            counts = [int(scalar(conn, f"SELECT COUNT(*) FROM {table}"))
                      for table in ("projects", "sessions", "messages")]
        return Stats(*counts)

    def source_counts(self) -> list[SourceCounts]:
        """Projects, sessions and messages per source (by the project's source), largest first."""
        rows = self._store.read(
            "SELECT p.source, COUNT(DISTINCT p.id), COUNT(s.id), COALESCE(SUM(s.message_count), 0) FROM projects p "
            "LEFT JOIN sessions s ON s.project_id = p.id GROUP BY p.source ORDER BY 4 DESC, 1")
        return [SourceCounts(str(r[0] or ""), int(r[1]), int(r[2]), int(r[3])) for r in rows]

    def last_collection_at(self) -> int | None:
        """When a collector last saved a file's state (epoch ms), None if never."""
        value = self._store.read_value("SELECT MAX(updated_at) FROM file_state") \
            if "file_state" in self._store.objects else None
        return int(value) if value is not None else None

    def cjk_queue_length(self) -> int:
        """Messages queued for the CJK side index (written by programs that do not index it)."""
        if not self._store.has_cjk_index:
            return 0
        return int(self._store.read_value("SELECT COUNT(*) FROM messages_cjk_pending", (), 0))

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """``PRAGMA wal_checkpoint(mode)``: returns (busy, wal pages, pages checkpointed).

        PASSIVE never blocks other connections. TRUNCATE also shrinks the WAL file to
        zero bytes when no reader is using it (the original only ever ran PASSIVE, so
        the WAL could grow without bound).
        """
        if not isinstance(mode, str) or mode.upper() not in CHECKPOINT_MODES:
            raise InvalidArgument(f"unknown checkpoint mode {mode!r}; use one of {', '.join(CHECKPOINT_MODES)}")
        row = self._store.read_one(f"PRAGMA wal_checkpoint({mode.upper()})")
        return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)

    def quick_check(self) -> IntegrityCheckResult:
        """``PRAGMA quick_check``: every problem it reports, not only the first."""
        return self._check("quick_check")

    def integrity_check(self) -> IntegrityCheckResult:
        """``PRAGMA integrity_check``: every problem it reports, not only the first."""
        return self._check("integrity_check")

    def _check(self, pragma: str) -> IntegrityCheckResult:
        rows = [str(r[0]) for r in self._store.read(f"PRAGMA {pragma}")]
        if rows == ["ok"]:
            return IntegrityCheckResult(True)
        return IntegrityCheckResult(False, tuple(rows))

    def fts_integrity_check(self) -> IntegrityCheckResult:
        """FTS5 'integrity-check' of ``messages_fts`` against the ``messages`` rows.

        It only reads, so a read-only handle can run it (the check is phrased as an
        INSERT, which ``query_only`` would refuse: it runs with ``query_only`` lifted
        for the one statement).
        """
        store = self._store
        try:
            with store.lock:
                conn = store.connection()
                lifted = store.read_only
                if lifted:
                    conn.execute("PRAGMA query_only=OFF")
                try:
                    store.read("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
                finally:
                    if lifted:
                        conn.execute("PRAGMA query_only=ON")
        except DatabaseError as exc:
            return IntegrityCheckResult(False, (f"messages_fts: {exc}",))
        return IntegrityCheckResult(True)

    def rebuild_search_index(self) -> None:
        """Rebuild ``messages_fts`` from ``messages``, re-queue the CJK side index, rebuild
        the rank index, and
        rebuild every SQL index (``REINDEX``)."""
        with self._store.write() as conn:
            conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
            if self._store.has_cjk_index:
                from . import cjk_index  # loaded by connect (see sessiondb._startup)

                conn.execute("DELETE FROM messages_cjk")
                conn.execute("INSERT OR IGNORE INTO messages_cjk_pending(message_id) SELECT id FROM messages "
                             f"WHERE {cjk_index.NON_ASCII_SQL.format('content_full')}")
                cjk_index.drain_pending(conn)   # (unlisted: its lists are built again below)
            if self._store.has_rank_index:
                from . import rank_index

                rank_index.rebuild(conn)
                if self._store.has_cjk_lists:
                    conn.execute("DELETE FROM messages_cjk_rank_state")
                    rank_index.keep_cjk_lists(conn)
            conn.execute("REINDEX")

    def catch_up_search_index(self) -> int:
        """Index every queued CJK message now, and extend the rank index over every row
        it has not seen (rows written by other programs).

        Returns how many were indexed. A search also finds queued rows, by scanning
        them, so this only makes searching them fast.
        """
        with self._store.write() as conn:
            from . import cjk_index  # loaded by connect (see sessiondb._startup)

            done = int(cjk_index.drain_pending(conn, indexed=self._store.cjk_lister())) \
                if self._store.has_cjk_index else 0
            if self._store.has_rank_index:
                from . import rank_index

                rank_index.extend(conn, everything=True)
                if self._store.has_cjk_lists:
                    rank_index.keep_cjk_lists(conn)
            return done
