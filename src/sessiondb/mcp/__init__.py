"""``sessiondb mcp``: an MCP server that lets agents search their own session history.

A thin, read-only face over the Python API. :mod:`.tools` holds the tools (schemas,
argument checks, queries, bounded answers) and needs no MCP SDK; :mod:`.server` wires
them to the official ``mcp`` SDK over stdio or streamable HTTP; :mod:`.command` adds
the ``mcp`` subcommand to the ``sessiondb`` command.
"""
