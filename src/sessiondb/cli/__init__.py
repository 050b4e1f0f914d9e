"""The ``sessiondb`` command: a thin face over the Python API.

Exit codes: 0 ok, 1 nothing found, 2 usage, 3 database error. A user mistake gets one
line and a hint, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import PermissionDenied, RemoteError, SessionDBError
from .common import EXIT_DATABASE, EXIT_OK, UserError
from .output import Output

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from types import ModuleType

# Subcommands that other faces provide (viewer, MCP server, mirror). Each module has
# ``register(subparsers)`` and imports its own dependencies only when its command runs;
# they are found by name so that this face imports no other face.
FACE_COMMANDS = ("sessiondb.viewer.command", "sessiondb.mcp.command", "sessiondb.mirror.command")


def build_parser() -> argparse.ArgumentParser:
    from . import maintenance, read_commands

    parser = argparse.ArgumentParser(
        prog="sessiondb",
        description="Collect, watch and search your AI coding-CLI sessions (Claude Code, Codex, OpenCode, "
                    "Gemini CLI) in one shared SQLite database.",
        epilog="Start with `sessiondb demo` (no sessions needed) or `sessiondb collect`.")
    parser.add_argument("--version", action="version", version=f"sessiondb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    read_commands.register(sub)
    maintenance.register(sub)
    for name in ("collect_commands", "demo"):
        module = _optional(name)
        if module is not None:
            module.register(sub)
    for name in FACE_COMMANDS:
        module = _optional(name)
        if module is not None:
            module.register(sub)
    return parser


def _optional(name: str) -> ModuleType | None:
    """The module ``name`` (relative to this package unless dotted), None if this build lacks it."""
    import importlib

    full = name if "." in name else f"{__name__}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name and full.startswith(exc.name):
            return None
        raise


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_OK
    out = Output(as_json=getattr(args, "json", False))
    try:
        return int(args.handler(args, out) or EXIT_OK)
    except UserError as exc:
        out.error(exc.message, exc.hint)
        return exc.code
    except PermissionDenied as exc:
        out.error(str(exc), "another program is the writer; see `sessiondb status`")
        return EXIT_DATABASE
    except RemoteError as exc:
        out.error(str(exc))
        return EXIT_DATABASE
    except SessionDBError as exc:
        out.error(str(exc), "check the file with `sessiondb doctor`")
        return EXIT_DATABASE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
