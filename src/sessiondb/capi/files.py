"""C ABI functions over session files, without a database (part of :mod:`sessiondb.capi`)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (see sessiondb._startup)
    from typing import Any

from .support import SUCCESS, CApiBase, export, optional_module, row_limit


class FileFunctions(CApiBase):
    """parse_jsonl, paths, file projects, session metas, paged messages (``sessiondb.session_files``)."""

    def reader(self) -> Any:
        return optional_module("session_files", "reading session files")

    @export("struct")
    def parse_jsonl(self, jsonl_path: Any, out_result: Any) -> None:
        path = self.m.text(jsonl_path, "jsonl_path")
        session = self.reader().parse_jsonl(path)
        out_result.session = self.ffi.NULL if session is None else self.indexable_session(session)
        out_result.error = SUCCESS

    def indexable_session(self, session: Any) -> Any:
        string = self.m.string
        out = self.m.alloc("IndexableSessionC")
        try:
            out.session_id = string(session.session_id)
            out.project_path = string(session.project_path)
            out.project_name = string(session.project_name)
            messages = list(session.messages)
            if messages:
                data = self.m.alloc("IndexableMessageC", len(messages))
                out.messages.data = data
                out.messages.len = len(messages)
                for i, message in enumerate(messages):
                    c = data[i]
                    c.uuid = string(message.uuid)
                    c.role = string(message.role)
                    c.content = string(message.content)
                    c.timestamp = message.timestamp
                    c.sequence = message.sequence
        except BaseException:
            self.lib.session_db_free_parse_result(out)
            raise
        return out

    @export("pointer")
    def get_session_path(self, projects_path: Any, session_id: Any) -> Any:
        root = self.m.optional_text(projects_path, "projects_path")
        sid = self.m.text(session_id, "session_id")
        return self.m.string(self.reader().get_session_path(root, sid))

    @export("pointer")
    def get_encoded_dir_name(self, projects_path: Any, project_path: Any) -> Any:
        root = self.m.optional_text(projects_path, "projects_path")
        project = self.m.text(project_path, "project_path")
        return self.m.string(self.reader().get_encoded_dir_name(root, project))

    @export("pointer")
    def compute_session_path(self, projects_path: Any, encoded_dir_name: Any, session_id: Any) -> Any:
        root = self.m.optional_text(projects_path, "projects_path")
        encoded = self.m.text(encoded_dir_name, "encoded_dir_name")
        sid = self.m.text(session_id, "session_id")
        return self.m.string(self.reader().compute_session_path(root, encoded, sid))

    @export("status")
    def list_file_projects(self, projects_path: Any, limit: int, out_array: Any) -> int:
        out = self.m.need(out_array, "out_array")
        root = self.m.optional_text(projects_path, "projects_path")
        projects = self.reader().list_file_projects(root, limit=limit or None)
        string = self.m.string

        def fill(c: Any, p: Any) -> None:
            c.encoded_name = string(p.encoded_name)
            c.path = string(p.path)
            c.name = string(p.name)
            c.session_count = p.session_count
            c.last_active = p.last_active or 0
        out[0] = self.m.array("ProjectInfoArray", "ProjectInfoC", projects, fill,
                              self.lib.session_db_free_project_list)
        return SUCCESS

    @export("status")
    def list_session_metas(self, projects_path: Any, project_path: Any, out_array: Any) -> int:
        out = self.m.need(out_array, "out_array")
        root = self.m.optional_text(projects_path, "projects_path")
        project = self.m.optional_text(project_path, "project_path")
        metas = self.reader().list_session_metas(root, project, include_agents=False)
        out[0] = self.m.array("SessionMetaArray", "SessionMetaC", metas, self.session_meta,
                              self.lib.session_db_free_session_meta_list)
        return SUCCESS

    @export("status")
    def find_latest_session(self, projects_path: Any, project_path: Any, within_seconds: int,
                            out_session: Any) -> int:
        self.m.need(project_path, "project_path")
        out = self.m.need(out_session, "out_session")
        root = self.m.optional_text(projects_path, "projects_path")
        project = self.m.text(project_path, "project_path")
        meta = self.reader().find_latest_session(root, project, within_seconds=within_seconds or None)
        if meta is None:
            out[0] = self.ffi.NULL
            return SUCCESS
        single = self.m.alloc("SessionMetaC")
        try:
            self.session_meta(single, meta)
        except BaseException:
            self.lib.session_db_free_session_meta(single)
            raise
        out[0] = single
        return SUCCESS

    @export("status")
    def read_session_messages(self, session_path: Any, limit: int, offset: int, order_asc: bool,
                              out_result: Any) -> int:
        self.m.need(session_path, "session_path")
        out = self.m.need(out_result, "out_result")
        path = self.m.text(session_path, "session_path")
        page = self.reader().read_session_messages(path, limit=row_limit(limit) or None,
                                                   offset=min(offset, 2 ** 62), order_asc=bool(order_asc))
        string = self.m.string

        def fill(c: Any, message: Any) -> None:
            c.uuid = string(message.uuid)
            c.session_id = string(message.session_id)
            c.message_type = message.type.code
            c.content = string(message.content)
            c.timestamp = string(None if message.timestamp is None else str(message.timestamp))
        result = self.m.array("MessagesResultC", "ParsedMessageC", page.messages, fill,
                              self.lib.session_db_free_messages_result, "messages", "message_count")
        result.total = page.total
        result.has_more = bool(page.has_more)
        out[0] = result
        return SUCCESS

    def session_meta(self, target: Any, meta: Any) -> None:
        string = self.m.string
        target.id = string(meta.id)
        target.project_path = string(meta.project_path or "")
        target.project_name = string(meta.project_name)
        target.encoded_dir_name = string(meta.encoded_dir_name)
        target.session_path = string(meta.session_path)
        target.file_mtime = -1 if meta.file_mtime is None else meta.file_mtime
        target.message_count = -1 if meta.message_count is None else meta.message_count

