"""The SQL behind :class:`sessiondb.SessionDB`, one module per kind of row.

``core`` owns the connection and the single write path; ``projects``, ``sessions``
and ``messages`` are mixins that SessionDB (``sessiondb.db``) combines.
"""
