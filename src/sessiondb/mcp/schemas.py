"""What each tool says about itself: name, description, input and output JSON schemas.

Input schemas keep to plain keywords (``type`` with one type, ``enum``, ``minimum``,
``minLength``, ``maxLength``, ``required``) because some clients translate them into
their model provider's narrower schema dialect; :func:`.arguments.check_arguments`
enforces exactly these. Output schemas are what ``structuredContent`` conforms to.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

SOURCES = ["claude", "codex", "opencode", "gemini"]
ROLES = ["user", "assistant", "tool", "system"]
ORDERS = ["score", "newest", "oldest"]
MAX_QUERY_CHARS = 1000
# (default, maximum) per tool
LIMITS: dict[str, tuple[int, int]] = {"search": (10, 50), "get_session": (30, 100), "list_sessions": (20, 50),
                                      "list_projects": (50, 200)}

_TIME_FORMS = ("2026-01-31, 2026-01-31T09:30, an ISO 8601 time with offset, epoch milliseconds, or relative: "
               "30m, 12h, 7d, 2w, today, yesterday. A time without an offset is the server's local time")
_CURSOR: Schema = {"type": "string",
                   "description": "The next_cursor of the previous answer, to get the next page. Repeat the other "
                                  "arguments unchanged (limit may change)."}
_PROJECT: Schema = {"type": "string",
                    "description": "A project: its id, its path, or its name, as list_projects shows them (a unique "
                                   "part of the path also works)."}
_CWD: Schema = {"type": "string",
                "description": "An absolute working directory, for 'this project': selects the stored project whose "
                               "path is this directory or the nearest one above it. Pass your own current working "
                               "directory."}


def _limit(tool: str, what: str) -> Schema:
    default, cap = LIMITS[tool]
    return {"type": "integer", "minimum": 1,
            "description": f"At most this many {what} (default {default}; values above {cap} are reduced to {cap}). "
                           "An answer may hold fewer when it reaches its size budget; next_cursor then continues."}


_NULLABLE_STR: Schema = {"type": ["string", "null"]}
_NULLABLE_INT: Schema = {"type": ["integer", "null"]}

_SESSION_SUMMARY: Schema = {
    "type": "object",
    "required": ["session_id", "title", "project_id", "project", "project_path", "source", "message_count",
                 "first_time", "last_time"],
    "properties": {
        "session_id": {"type": "string"}, "title": {"type": "string"},
        "project_id": {"type": "integer"}, "project": {"type": "string"}, "project_path": {"type": "string"},
        "source": {"type": "string"}, "message_count": {"type": "integer"},
        "first_time": _NULLABLE_STR, "last_time": _NULLABLE_STR, "model": _NULLABLE_STR, "cwd": _NULLABLE_STR,
        "parent_session_id": _NULLABLE_STR, "session_type": _NULLABLE_STR,
    },
}

SEARCH: Schema = {
    "name": "search",
    "title": "Search past sessions",
    "description": (
        "Full-text search over every stored message of past AI coding sessions (Claude Code, Codex, OpenCode, "
        "Gemini CLI): user prompts, assistant answers, tool calls and their results. Use it to recall earlier "
        "work: decisions, errors and their fixes, commands, file names. Query language: words are ANDed "
        '(sqlite lock); "an exact phrase"; prefix* ; a OR b ; -word excludes; code identifiers, paths and dotted '
        "names match as written (parse_session, src/db.py, SessionDB.connect); Chinese/Japanese/Korean text "
        "matches as a substring. Prefer a few distinctive words over a sentence. Pass cwd (your working "
        "directory) to search only this project. Each hit has session_id and message_id: call get_session with "
        "them (around_message_id) to read the conversation around it. Matched words are marked «like this» in "
        "snippets."),
    "inputSchema": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS,
                      "description": "What to find, in the query language above."},
            "cwd": _CWD,
            "project": _PROJECT,
            "source": {"type": "string", "enum": SOURCES, "description": "Only sessions of this CLI."},
            "role": {"type": "string", "enum": ROLES,
                     "description": "Only messages of this role: user (prompts), assistant, tool (tool results), "
                                    "system (titles, summaries, notices)."},
            "since": {"type": "string", "description": f"Only messages at or after this time: {_TIME_FORMS}."},
            "until": {"type": "string", "description": "Only messages at or before this time (a plain date "
                                                       "includes that whole day); same forms as since."},
            "session": {"type": "string", "description": "Only this session: its id or the first characters of it."},
            "order": {"type": "string", "enum": ORDERS,
                      "description": "score (best match first, the default), newest or oldest first."},
            "limit": _limit("search", "hits"),
            "snippet_chars": {"type": "integer", "minimum": 20,
                              "description": "Length of each snippet in characters (default 200, at most 1000)."},
            "cursor": _CURSOR,
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    "outputSchema": {
        "type": "object",
        "required": ["query", "order", "results", "next_cursor"],
        "properties": {
            "query": {"type": "string"}, "order": {"type": "string"},
            "project": {"type": ["object", "null"]},
            "results": {"type": "array", "items": {
                "type": "object",
                "required": ["message_id", "session_id", "project_id", "project", "project_path", "role", "time",
                             "snippet"],
                "properties": {
                    "message_id": {"type": "integer"}, "session_id": {"type": "string"},
                    "project_id": {"type": "integer"}, "project": {"type": "string"},
                    "project_path": {"type": "string"}, "source": _NULLABLE_STR, "role": {"type": "string"},
                    "time": _NULLABLE_STR, "timestamp_ms": {"type": "integer"}, "score": {"type": "number"},
                    "snippet": {"type": "string"},
                }}},
            "next_cursor": _NULLABLE_STR,
            "notes": {"type": "array", "items": {"type": "string"}},
        },
    },
}

GET_SESSION: Schema = {
    "name": "get_session",
    "title": "Read a session transcript",
    "description": (
        "A page of one stored session's transcript, in order: who said what, when, and which tools were called. "
        "Give session (an id from search or list_sessions; a unique prefix works). Without other arguments the "
        "page starts at the first message; around_message_id (a message_id from search) centres the page on that "
        "message; offset starts at a position (0 = first message, -20 = the last 20). Tool calls and tool results "
        "are shortened to one line unless include_tools is true; long messages are cut at max_message_chars. "
        "next_cursor continues after the page."),
    "inputSchema": {
        "type": "object",
        "properties": {
            "session": {"type": "string", "minLength": 1,
                        "description": "The session id, or enough of its first characters to be unique."},
            "around_message_id": {"type": "integer",
                                  "description": "A message_id (from search) to centre the page on."},
            "offset": {"type": "integer",
                       "description": "Start at this position in the transcript; negative counts from the end."},
            "limit": _limit("get_session", "messages"),
            "include_tools": {"type": "boolean",
                              "description": "Show tool inputs, tool results and reasoning in full (default false: "
                                             "one line each)."},
            "max_message_chars": {"type": "integer", "minimum": 100,
                                  "description": "Cut each message after this many characters (default 2000)."},
            "cursor": _CURSOR,
        },
        "required": ["session"],
        "additionalProperties": False,
    },
    "outputSchema": {
        "type": "object",
        "required": ["session", "messages", "start", "total", "next_cursor"],
        "properties": {
            "session": _SESSION_SUMMARY,
            "messages": {"type": "array", "items": {
                "type": "object",
                "required": ["message_id", "position", "role", "time", "text"],
                "properties": {
                    "message_id": {"type": "integer"}, "position": {"type": "integer"}, "role": {"type": "string"},
                    "time": _NULLABLE_STR, "tool_name": _NULLABLE_STR, "model": _NULLABLE_STR,
                    "text": {"type": "string"}, "shortened": {"type": "boolean"},
                }}},
            "start": {"type": "integer"}, "total": {"type": "integer"},
            "next_cursor": _NULLABLE_STR,
            "notes": {"type": "array", "items": {"type": "string"}},
        },
    },
}

LIST_SESSIONS: Schema = {
    "name": "list_sessions",
    "title": "List recent sessions",
    "description": (
        "Stored sessions, the most recently active first, each with its id, title (custom title, summary or first "
        "prompt), project, source CLI, message count and first/last message times. Filter by cwd ('this "
        "project'), project or source. Use it to find what was worked on recently; read one with get_session."),
    "inputSchema": {
        "type": "object",
        "properties": {
            "cwd": _CWD,
            "project": _PROJECT,
            "source": {"type": "string", "enum": SOURCES, "description": "Only sessions of this CLI."},
            "limit": _limit("list_sessions", "sessions"),
            "cursor": _CURSOR,
        },
        "additionalProperties": False,
    },
    "outputSchema": {
        "type": "object",
        "required": ["sessions", "next_cursor"],
        "properties": {
            "project": {"type": ["object", "null"]},
            "sessions": {"type": "array", "items": _SESSION_SUMMARY},
            "next_cursor": _NULLABLE_STR,
            "notes": {"type": "array", "items": {"type": "string"}},
        },
    },
}

LIST_PROJECTS: Schema = {
    "name": "list_projects",
    "title": "List projects",
    "description": (
        "Projects (working directories) that have stored sessions, the most recently active first, with id, name, "
        "path, source CLI, session and message counts and last activity. Their id, path or name is what the "
        "project argument of search and list_sessions takes."),
    "inputSchema": {
        "type": "object",
        "properties": {
            "contains": {"type": "string", "description": "Only projects whose name or path contains this text "
                                                          "(case-insensitive)."},
            "source": {"type": "string", "enum": SOURCES, "description": "Only projects of this CLI."},
            "limit": _limit("list_projects", "projects"),
            "cursor": _CURSOR,
        },
        "additionalProperties": False,
    },
    "outputSchema": {
        "type": "object",
        "required": ["projects", "total", "next_cursor"],
        "properties": {
            "projects": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "name", "path", "source", "session_count", "message_count", "last_active"],
                "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"}, "path": {"type": "string"},
                    "source": {"type": "string"}, "session_count": {"type": "integer"},
                    "message_count": {"type": "integer"}, "last_active": _NULLABLE_STR,
                }}},
            "total": {"type": "integer"},
            "next_cursor": _NULLABLE_STR,
        },
    },
}

GET_STATS: Schema = {
    "name": "get_stats",
    "title": "Archive statistics",
    "description": (
        "What the session archive holds: numbers of projects, sessions and messages in total and per source CLI, "
        "the newest stored message's time, and the database file. Cheap; use it to see whether there is history "
        "to search at all."),
    "inputSchema": {"type": "object", "properties": {}, "additionalProperties": False},
    "outputSchema": {
        "type": "object",
        "required": ["database", "projects", "sessions", "messages", "sources", "newest_message"],
        "properties": {
            "database": {"type": "string"}, "size_bytes": _NULLABLE_INT,
            "projects": {"type": "integer"}, "sessions": {"type": "integer"}, "messages": {"type": "integer"},
            "sources": {"type": "array", "items": {
                "type": "object", "required": ["source", "projects", "sessions", "messages"],
                "properties": {"source": {"type": "string"}, "projects": {"type": "integer"},
                               "sessions": {"type": "integer"}, "messages": {"type": "integer"}}}},
            "newest_message": _NULLABLE_STR,
        },
    },
}

TOOLS: tuple[Schema, ...] = (SEARCH, GET_SESSION, LIST_SESSIONS, LIST_PROJECTS, GET_STATS)
BY_NAME: dict[str, Schema] = {t["name"]: t for t in TOOLS}

INSTRUCTIONS = (
    "sessiondb is a read-only archive of past AI coding-CLI sessions on this machine (Claude Code, Codex, OpenCode, "
    "Gemini CLI). When the user refers to earlier work ('what did we decide about X', 'how did we fix Y last "
    "week'), call search with a few distinctive words, and cwd set to your working directory for this project; then "
    "get_session with around_message_id to read the context. list_sessions shows recent sessions; get_stats "
    "whether anything is stored. Answers are bounded; follow next_cursor for more.")
