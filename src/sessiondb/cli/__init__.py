"""The ``sessiondb`` command: a thin face over the Python API.

Exit codes: 0 ok, 1 nothing found, 2 usage, 3 database error. A user mistake gets one
line and a hint, never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import typing
from collections.abc import Sequence
from typing import Any, cast

from .. import __version__
from ..errors import PermissionDenied, RemoteError, SessionDBError
from . import library_flags
from .common import EXIT_DATABASE, EXIT_OK, EXIT_USAGE, UserError, explain_database_error
from .output import Output

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from types import ModuleType

# Subcommands that other faces provide (viewer, MCP server, mirror). Each module has
# ``register(subparsers)`` and imports its own dependencies only when its command runs;
# they are found by name so that this face imports no other face.
FACE_COMMANDS = ("sessiondb.viewer.command", "sessiondb.mcp.command", "sessiondb.mirror.command")


class HelpFormatter(argparse.HelpFormatter):
    """Help that states every option's default and keeps the line breaks of descriptions
    (each line is wrapped on its own; an indented line keeps its indent)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap

        lines = []
        for line in text.splitlines():
            lead = line[:len(line) - len(line.lstrip())]
            lines.append(textwrap.fill(line.strip(), width, initial_indent=indent + lead, break_on_hyphens=False,
                                       subsequent_indent=indent + lead + ("  " if lead else "")) if line.strip() else "")
        return "\n".join(lines)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (action.option_strings and action.default not in (None, False, argparse.SUPPRESS)
                and "%(default)" not in text and "default" not in text):
            text += " (default: %(default)s)"
        return text


class CommandParser(argparse.ArgumentParser):
    """Usage mistakes are one line and a hint, not the whole usage text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> "typing.NoReturn":
        from .output import terminal_safe

        hint = f"see `{self.prog} --help`"
        match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if match:
            choices = re.findall(r"'?([\w-]+)'?", match.group(2))
            close = difflib.get_close_matches(match.group(1), choices, n=1)
            if close:
                hint = f"did you mean `{self.prog} {close[0]}`?" if self.prog == "sessiondb" else \
                    f"did you mean {close[0]}? see `{self.prog} --help`"
        sys.stderr.write(f"error: {terminal_safe(message)}\n  hint: {terminal_safe(hint)}\n")
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    from . import maintenance, read_commands, usage_command

    parser = CommandParser(
        prog="sessiondb",
        description="Collect, watch and search your AI coding-CLI sessions (Claude Code, Codex, OpenCode, "
                    "Gemini CLI) in one shared SQLite database.",
        epilog="Start with `sessiondb demo` (no sessions needed) or `sessiondb collect`.")
    parser.add_argument("--version", action="version", version=f"sessiondb {__version__}")
    for flag, what in (("--cflags", "compiler flags for a C program using libsessiondb"),
                       ("--libs", "linker flags for libsessiondb"), ("--libdir", "directory of libsessiondb"),
                       ("--includedir", "directory of sessiondb.h"),
                       ("--pkgconfigdir", "for PKG_CONFIG_PATH (pkg-config name: sessiondb)")):
        parser.add_argument(flag, action="store_true", help=f"print the {what} and exit (as `python -m sessiondb`)")
    # Every face registers plain ArgumentParser subcommands (the subparsers are invariant in it).
    sub = cast("argparse._SubParsersAction[argparse.ArgumentParser]",
               parser.add_subparsers(dest="command", metavar="COMMAND"))
    read_commands.register(sub)
    usage_command.register(sub)
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
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == [library_flags.LINK_FLAG] or any(a in library_flags.FLAGS for a in arguments):
        return library_flags.main(arguments)
    parser = build_parser()
    args = parser.parse_args(arguments)
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
        out.error(*explain_database_error(args, exc))
        return EXIT_DATABASE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
