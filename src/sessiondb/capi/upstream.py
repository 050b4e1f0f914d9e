"""C ABI functions the upstream ABI added (part of :mod:`sessiondb.capi`): session
relations, and the upstream layouts of ``Session`` and ``SessionMetaC`` that
``ai_cli_session_db.h`` binds its functions to (the ``session_db_v2_*`` symbols)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (see sessiondb._startup)
    from typing import Any

    from ..models import SessionOverview

from .support import SUCCESS, CApiBase, export, optional_module

MAIN_SESSION = "main"
SUBAGENT_SESSION = "subagent"


def session_type_of(overview: SessionOverview) -> str:
    """The upstream session type: the stored one, else "subagent" for a child, else "main"."""
    if overview.session_type:
        return overview.session_type
    return SUBAGENT_SESSION if overview.parent_session_id else MAIN_SESSION


class UpstreamFunctions(CApiBase):
    """get_children_sessions / get_parent_session and the v2 layouts."""

    if TYPE_CHECKING:
        def session_meta(self, target: Any, meta: Any) -> None: ...   # from FileFunctions, beside it in CApi

    # ------------------------------------------------------------ relations
    def relation_fill(self, db: Any) -> Any:
        string = self.m.string

        def fill(c: Any, overview: Any) -> None:
            session = db.get_session(overview.session_id)
            c.parent_session_id = string(overview.parent_session_id)
            c.child_session_id = string(overview.session_id)
            c.relation_type = string(session_type_of(overview))
            c.source = string(overview.source or "")
            c.created_at = session.created_at if session is not None else -1
        return fill

    @export("status")
    def get_children_sessions(self, handle: Any, parent_session_id: Any, out_array: Any) -> int:
        state = self.state(handle)
        self.m.need(parent_session_id, "parent_session_id")
        out = self.m.need(out_array, "out_array")
        parent = self.m.text(parent_session_id, "parent_session_id")
        children = state.db.list_session_overviews(parent_session_id=parent, limit=None) if parent else []
        created = {c.session_id: getattr(state.db.get_session(c.session_id), "created_at", 0) for c in children}
        children.sort(key=lambda c: (created[c.session_id], c.session_id))
        out[0] = self.m.array("SessionRelationArray", "SessionRelationC", children, self.relation_fill(state.db),
                              self.lib.session_db_free_session_relations)
        return SUCCESS

    @export("status")
    def get_parent_session(self, handle: Any, child_session_id: Any, out_relation: Any) -> int:
        state = self.state(handle)
        self.m.need(child_session_id, "child_session_id")
        out = self.m.need(out_relation, "out_relation")
        child = self.m.text(child_session_id, "child_session_id")
        overview = state.db.get_session_overview(child)
        if overview is None or not overview.parent_session_id:
            out[0] = self.ffi.NULL
            return SUCCESS
        relation = self.m.alloc("SessionRelationC")
        try:
            self.relation_fill(state.db)(relation, overview)
        except BaseException:
            self.lib.session_db_free_session_relation(relation)
            raise
        out[0] = relation
        return SUCCESS

    # ------------------------------------------------------------ upstream layouts
    @export("status")
    def v2_list_sessions(self, handle: Any, project_id: int, out_array: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_array, "out_array")
        sessions = state.db.list_sessions(project_id)
        overviews = {o.session_id: o for o in state.db.list_session_overviews(project_id=project_id, limit=None)}
        string = self.m.string

        def fill(c: Any, s: Any) -> None:
            overview = overviews.get(s.session_id)
            c.id = s.id
            c.session_id = string(s.session_id)
            c.project_id = s.project_id
            c.message_count = s.message_count
            c.last_message_at = -1 if s.last_message_at is None else s.last_message_at
            c.session_type = string(session_type_of(overview)) if overview is not None else self.ffi.NULL
            c.source = string(overview.source) if overview is not None and overview.source else self.ffi.NULL
            c.created_at = s.created_at
            c.updated_at = s.updated_at
        out[0] = self.m.array("SessionDbSessionV2Array", "SessionDbSessionV2", sessions, fill,
                              self.lib.session_db_v2_free_sessions)
        return SUCCESS

    def session_meta_v2(self, target: Any, meta: Any) -> None:
        self.session_meta(target, meta)   # the fields both layouts share (FileFunctions)
        target.last_message_type = self.m.string(meta.last_message_type)
        target.last_message_preview = self.m.string(meta.last_message_preview)
        target.last_message_at = -1 if meta.last_message_at is None else meta.last_message_at

    @export("status")
    def v2_list_session_metas(self, projects_path: Any, project_path: Any, out_array: Any) -> int:
        out = self.m.need(out_array, "out_array")
        root = self.m.optional_text(projects_path, "projects_path")
        project = self.m.optional_text(project_path, "project_path")
        files = optional_module("session_files", "reading session files")
        metas = files.list_session_metas(root, project, include_agents=False, last_message=True)
        out[0] = self.m.array("SessionDbSessionMetaV2Array", "SessionDbSessionMetaV2", metas, self.session_meta_v2,
                              self.lib.session_db_v2_free_session_meta_list)
        return SUCCESS

    @export("status")
    def v2_find_latest_session(self, projects_path: Any, project_path: Any, within_seconds: int,
                               out_session: Any) -> int:
        self.m.need(project_path, "project_path")
        out = self.m.need(out_session, "out_session")
        root = self.m.optional_text(projects_path, "projects_path")
        project = self.m.text(project_path, "project_path")
        files = optional_module("session_files", "reading session files")
        meta = files.find_latest_session(root, project, within_seconds=within_seconds or None, last_message=True)
        if meta is None:
            out[0] = self.ffi.NULL
            return SUCCESS
        single = self.m.alloc("SessionDbSessionMetaV2")
        try:
            self.session_meta_v2(single, meta)
        except BaseException:
            self.lib.session_db_v2_free_session_meta(single)
            raise
        out[0] = single
        return SUCCESS
