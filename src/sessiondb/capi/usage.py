"""C ABI for token usage (part of :mod:`sessiondb.capi`): ``session_db_usage``."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (see sessiondb._startup)
    from typing import Any

    from ..models import UsageRow

from .support import SUCCESS, CApiBase, OutOfRange, export, optional_ms

# enum SessionDbUsageGroup, in its order.
USAGE_GROUPS = ("day", "session", "week", "month", "project", "model", "source")


class UsageFunctions(CApiBase):
    """session_db_usage over ``SessionDB.usage``."""

    @export("status")
    def usage(self, handle: Any, by: int, since: int, until: int, source: Any, session_id: Any,
              out_array: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_array, "out_array")
        if not 0 <= by < len(USAGE_GROUPS):
            raise OutOfRange(f"by {by} is not a usage grouping (0 day, 1 session, 2 week, 3 month, 4 project, "
                             "5 model, 6 source)")
        rows = state.db.usage(by=USAGE_GROUPS[by], since=optional_ms(since), until=optional_ms(until),
                              source=self.m.optional_text(source, "source"),
                              session=self.m.optional_text(session_id, "session_id"))
        string = self.m.string

        def fill(c: Any, row: UsageRow) -> None:
            c.key = string(row.key)
            c.requests, c.sessions = row.requests, row.sessions
            c.input_tokens, c.output_tokens = row.input_tokens, row.output_tokens
            c.cache_read_tokens, c.cache_write_tokens = row.cache_read_tokens, row.cache_write_tokens
            c.reasoning_tokens, c.total_tokens = row.reasoning_tokens, row.total_tokens
            c.cost = -1.0 if row.cost is None else row.cost
            c.unpriced_tokens = row.unpriced_tokens
            c.models = string(",".join(row.models))
            c.unpriced_models = string(",".join(row.unpriced_models))
            c.first_at = -1 if row.first_at is None else row.first_at
            c.last_at = -1 if row.last_at is None else row.last_at
        out[0] = self.m.array("SessionDbUsageArray", "SessionDbUsageC", rows, fill, self.lib.session_db_free_usage)
        return SUCCESS
