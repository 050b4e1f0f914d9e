"""Projects: one row per working directory (``projects.path`` is unique)."""

from __future__ import annotations

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from typing import Any

    from .core import Store

from ..errors import ConflictError, NotFoundError
from ..models import Project, ProjectWithSource, ProjectWithStats
from ..timeutil import now_ms
from . import validate
from .connection import scalar

_PROJECT_COLUMNS = "id, name, path, source, encoded_dir_name, created_at, updated_at"


def _project(row: tuple[Any, ...]) -> Project:
    return Project(row[0], row[1], row[2], row[3] or "", row[4], row[5], row[6])


class Projects:
    """Projects of one store (``SessionDB`` forwards to it)."""

    def __init__(self, store: Store) -> None:
        self._store = store
    def get_or_create_project(self, name: str, path: str, source: str = "claude",
                              encoded_dir_name: str | None = None) -> int:
        """The id of the project at ``path``, creating it if needed.

        Atomic across processes (one ``INSERT ... ON CONFLICT``; the original did a
        SELECT then an INSERT and could fail with a UNIQUE error). An existing project
        keeps its name and source; ``updated_at`` is bumped and a given
        ``encoded_dir_name`` replaces the stored one.
        """
        name = validate.text("name", name, allow_empty=True)
        path = validate.text("path", path)
        source = validate.text("source", source, allow_empty=True)
        encoded_dir_name = validate.optional_text("encoded_dir_name", encoded_dir_name)
        now = now_ms()
        with self._store.write() as conn:
            return int(scalar(
                conn, "INSERT INTO projects(name, path, source, encoded_dir_name, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET updated_at = excluded.updated_at, "
                "encoded_dir_name = COALESCE(excluded.encoded_dir_name, projects.encoded_dir_name) RETURNING id",
                (name, path, source, encoded_dir_name, now, now)))

    def get_or_create_project_with_encoded(self, name: str, path: str, source: str,
                                           encoded_dir_name: str | None) -> int:
        """The original's name for :meth:`get_or_create_project` with an encoded dir name."""
        return self.get_or_create_project(name, path, source, encoded_dir_name)

    def list_projects(self) -> list[Project]:
        """All projects, most recently updated first."""
        rows = self._store.read(f"SELECT {_PROJECT_COLUMNS} FROM projects ORDER BY updated_at DESC, id DESC")
        return [_project(r) for r in rows]

    def list_projects_with_stats(self, limit: int | None = 100, offset: int = 0) -> list[ProjectWithStats]:
        """Projects with their session and message counts, most recently active first."""
        rows = self._store.read(
            "SELECT p.id, p.name, p.path, p.source, COUNT(s.id), COALESCE(SUM(s.message_count), 0), "
            "MAX(COALESCE(s.last_message_at, s.updated_at)) AS last_active "
            "FROM projects p LEFT JOIN sessions s ON s.project_id = p.id GROUP BY p.id "
            "ORDER BY last_active DESC NULLS LAST, p.id DESC LIMIT ? OFFSET ?",
            (validate.limit(limit), validate.integer("offset", offset, minimum=0)))
        return [ProjectWithStats(r[0], r[1], r[2], r[3] or "", r[4], r[5], r[6]) for r in rows]

    def get_project(self, project_id: int) -> Project | None:
        row = self._store.read_one(f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE id = ?",
                             (validate.integer("project_id", project_id),))
        return _project(row) if row else None

    def get_project_by_path(self, path: str) -> Project | None:
        row = self._store.read_one(f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE path = ?",
                             (validate.text("path", path, allow_empty=True),))
        return _project(row) if row else None

    def get_all_projects_with_source(self) -> list[ProjectWithSource]:
        rows = self._store.read("SELECT id, name, path, source FROM projects ORDER BY id")
        return [ProjectWithSource(r[0], r[1], r[2], r[3] or "") for r in rows]

    def update_sessions_project_id(self, from_project_id: int, to_project_id: int) -> int:
        """Move every session of one project to another; returns how many moved."""
        src = validate.integer("from_project_id", from_project_id)
        dst = validate.integer("to_project_id", to_project_id)
        with self._store.write() as conn:
            if conn.execute("SELECT 1 FROM projects WHERE id = ?", (dst,)).fetchone() is None:
                raise NotFoundError(f"project {dst} does not exist")
            conn.execute("UPDATE sessions SET project_id = ? WHERE project_id = ?", (dst, src))
            return conn.changes()

    def delete_project(self, project_id: int) -> bool:
        """Delete an empty project; True if a row was deleted.

        The database is an archive: a project that still has sessions is never deleted
        (the original failed with a bare FOREIGN KEY error). Move its sessions first.
        """
        pid = validate.integer("project_id", project_id)
        with self._store.write() as conn:
            sessions = int(scalar(conn, "SELECT COUNT(*) FROM sessions WHERE project_id = ?", (pid,)))
            if sessions:
                raise ConflictError(f"project {pid} still has {sessions} session(s); "
                                    "move them with update_sessions_project_id before deleting it")
            conn.execute("DELETE FROM projects WHERE id = ?", (pid,))
            return conn.changes() > 0

    def deduplicate_projects(self) -> tuple[int, list[int]]:
        """Merge projects whose paths differ only by trailing slashes.

        ``path`` is unique, so exact duplicates cannot exist (the original's version of
        this was dead code); ``/a/b`` and ``/a/b/`` can. For each group the project with
        the most sessions is kept, the others' sessions move to it and they are
        deleted, all in one transaction. Returns (groups merged, deleted ids).
        """
        with self._store.write() as conn:
            rows = conn.execute(
                "SELECT p.id, p.path, (SELECT COUNT(*) FROM sessions s WHERE s.project_id = p.id) "
                "FROM projects p").fetchall()
            groups: dict[str, list[tuple[int, int]]] = {}
            for pid, path, count in rows:
                groups.setdefault(str(path).rstrip("/") or "/", []).append((int(pid or 0), int(count or 0)))
            merged, removed = 0, []
            for members in groups.values():
                if len(members) < 2:
                    continue
                members.sort(key=lambda m: (-m[1], m[0]))
                keeper = members[0][0]
                for pid, _ in members[1:]:
                    conn.execute("UPDATE sessions SET project_id = ? WHERE project_id = ?", (keeper, pid))
                    conn.execute("DELETE FROM projects WHERE id = ?", (pid,))
                    removed.append(pid)
                merged += 1
        return merged, removed

