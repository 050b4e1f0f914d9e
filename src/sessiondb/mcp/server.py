"""The MCP server: the tools of :mod:`.tools`, a session resource and a ``recall``
prompt, served with the official MCP SDK over stdio or streamable HTTP.

Resources: ``sessiondb://session/{session_id}`` (a template, and the 50 most recent
sessions listed) reads as the first page of that transcript, so a person can attach
a past session to a conversation (``@sessiondb:...`` in Claude Code) without the
model spending a tool call. Prompt: ``recall`` turns "what did we do about X" into
instructions to search, read around the hits and answer with session ids and dates
(a slash command in clients that show prompts).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError

from sessiondb import __version__

from . import schemas
from .arguments import ToolError
from .tools import DEFAULT_BUDGET, Archive, Tools

Context = ServerRequestContext[Any]
SESSION_URI = "sessiondb://session/"
RESOURCES_PER_PAGE = 50
_READ_ONLY = types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                   open_world_hint=False)
_RECALL = types.Prompt(
    name="recall", title="Recall earlier work",
    description="Search past coding sessions for a topic and summarise what was decided or done, with sources.",
    arguments=[types.PromptArgument(name="topic", description="What to recall, e.g. 'the lock file format'",
                                    required=True),
               types.PromptArgument(name="cwd", description="Only this project: its working directory",
                                    required=False)])


def _tool_list() -> list[types.Tool]:
    return [types.Tool(name=t["name"], title=t["title"], description=t["description"],
                       input_schema=t["inputSchema"], output_schema=t["outputSchema"], annotations=_READ_ONLY)
            for t in schemas.TOOLS]


def _page_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if cursor.isdigit() and len(cursor) < 10:
        return int(cursor)
    raise MCPError(types.INVALID_PARAMS, "unknown cursor")


def build_server(db_path: str | os.PathLike[str] | None = None, *, budget: int = DEFAULT_BUDGET) -> Server[Any]:
    """The MCP server over the database at ``db_path`` (default: ``$CLAUDE_SESSION_DB_URL``
    or ``~/.vimo/db/ai-cli-session.db``), opened read-only."""
    tools = Tools(Archive(db_path), budget=budget)
    tool_list = _tool_list()

    async def list_tools(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tool_list)

    async def call_tool(ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name not in schemas.BY_NAME:
            raise MCPError(types.INVALID_PARAMS,
                           f"unknown tool {params.name!r}; tools: {', '.join(schemas.BY_NAME)}")
        # The library blocks; a worker thread keeps the event loop free for other requests.
        answer = await anyio.to_thread.run_sync(tools.call, params.name, params.arguments)
        return types.CallToolResult(content=[types.TextContent(text=answer.text)],
                                    structured_content=answer.data, is_error=answer.is_error)

    async def list_resources(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
        offset = _page_offset(params.cursor if params else None)
        try:
            found = await anyio.to_thread.run_sync(tools.recent_sessions, offset, RESOURCES_PER_PAGE + 1)
        except ToolError:
            found = []      # no database yet: nothing to list
        page = found[:RESOURCES_PER_PAGE]
        resources = [types.Resource(uri=SESSION_URI + quote(o.session_id, safe=""),
                                    name=o.session_id, title=o.title or o.session_id,
                                    description=f"{o.project_name} · {o.source} · {o.message_count} messages",
                                    mime_type="text/plain")
                     for o in page]
        more = len(found) > RESOURCES_PER_PAGE
        return types.ListResourcesResult(resources=resources,
                                         next_cursor=str(offset + len(page)) if more else None)

    async def list_templates(ctx: Context,
                             params: types.PaginatedRequestParams | None) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=[types.ResourceTemplate(
            uri_template=SESSION_URI + "{session_id}", name="session", title="A stored session",
            description="The first page of a session's transcript (get_session continues it)",
            mime_type="text/plain")])

    async def read_resource(ctx: Context, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        if not uri.startswith(SESSION_URI) or len(uri) == len(SESSION_URI):
            raise MCPError(types.INVALID_PARAMS, f"unknown resource {uri[:200]!r}; use {SESSION_URI}<session id>")
        try:
            text = await anyio.to_thread.run_sync(tools.transcript, unquote(uri[len(SESSION_URI):]))
        except ToolError as exc:
            raise MCPError(types.INVALID_PARAMS, str(exc)) from None
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, text=text,
                                                                             mime_type="text/plain")])

    async def list_prompts(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[_RECALL])

    async def get_prompt(ctx: Context, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        if params.name != "recall":
            raise MCPError(types.INVALID_PARAMS, f"unknown prompt {params.name!r}; prompts: recall")
        arguments = params.arguments or {}
        topic = (arguments.get("topic") or "").strip()
        if not topic:
            raise MCPError(types.INVALID_PARAMS, "the recall prompt needs a topic")
        scope = (f" Only the project at {arguments['cwd'].strip()} (pass it as cwd)."
                 if (arguments.get("cwd") or "").strip() else "")
        text = (f"Recall what earlier coding sessions say about: {topic}\n\n"
                f"Use the sessiondb tools.{scope} Call search with a few distinctive words (try two or three "
                "phrasings, identifiers and file names; a prefix* matches word variants), open the most relevant "
                "hits with get_session and around_message_id to read the surrounding conversation, and answer with "
                "what was decided or done, citing session ids and dates. If nothing is found, say so.")
        return types.GetPromptResult(description=f"Recall: {topic}",
                                     messages=[types.PromptMessage(role="user", content=types.TextContent(text=text))])

    return Server("sessiondb", version=__version__, title="sessiondb: past AI coding sessions",
                  instructions=schemas.INSTRUCTIONS,
                  on_list_tools=list_tools, on_call_tool=call_tool,
                  on_list_resources=list_resources, on_list_resource_templates=list_templates,
                  on_read_resource=read_resource, on_list_prompts=list_prompts, on_get_prompt=get_prompt)


async def serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def serve_http(server: Server[Any], port: int, on_ready: Callable[[str], None] | None = None) -> None:
    """Streamable HTTP at http://127.0.0.1:PORT/mcp (port 0: any free port)."""
    import uvicorn

    # Plain JSON responses: the tools send nothing while they run, so an SSE stream per
    # call would only add latency.
    app = server.streamable_http_app(host="127.0.0.1", json_response=True)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    http = uvicorn.Server(config)
    async with anyio.create_task_group() as group:
        group.start_soon(http.serve)
        while not http.started:
            if http.should_exit:
                return
            await anyio.sleep(0.02)
        if on_ready is not None:
            bound = http.servers[0].sockets[0].getsockname()[1] if http.servers else port
            on_ready(f"http://127.0.0.1:{bound}/mcp")
