"""``python -m sessiondb``: the command line, or where the C library is.

    python -m sessiondb --cflags --libs      # flags to compile and link a C program
    python -m sessiondb --libdir             # directory of libsessiondb.so
    python -m sessiondb --includedir         # directory of sessiondb.h
    python -m sessiondb --pkgconfigdir       # for PKG_CONFIG_PATH (pkg-config name: sessiondb)
    python -m sessiondb --link-library DIR   # symlinks to the library in DIR (beside an executable)

With none of these flags it runs the ``sessiondb`` command.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import sysconfig
from pathlib import Path

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
LIBDIR = PACKAGE_DIR / "_native"
INCLUDEDIR = PACKAGE_DIR / "include"
PKGCONFIGDIR = LIBDIR / "pkgconfig"
_FLAGS = ("--libdir", "--includedir", "--pkgconfigdir", "--cflags", "--libs")


def build_info() -> dict[str, Any]:
    """What the build recorded next to the library (empty if it was never built)."""
    try:
        info = json.loads((LIBDIR / "build_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def python_link_flags() -> list[str]:
    """Flags to link libpython, for a library built without it (manylinux wheels)."""
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    version = f"{sys.version_info.major}.{sys.version_info.minor}{getattr(sys, 'abiflags', '')}"
    flags = [f"-L{libdir}", f"-Wl,-rpath,{libdir}"] if libdir else []
    return flags + [f"-lpython{version}"]


def cflags() -> str:
    return f"-I{INCLUDEDIR}"


def libs() -> str:
    flags = [f"-L{LIBDIR}", f"-Wl,-rpath,{LIBDIR}", "-lsessiondb"]
    if not build_info().get("links_libpython", True):
        flags += python_link_flags()
    return " ".join(flags)


def answer(flag: str) -> str:
    return {"--libdir": str(LIBDIR), "--includedir": str(INCLUDEDIR), "--pkgconfigdir": str(PKGCONFIGDIR),
            "--cflags": cflags(), "--libs": libs()}[flag]


LIBRARY_NAMES = ("sessiondb", "ai_cli_session_db")


def link_library(directory: str) -> list[Path]:
    """Symlinks ``libsessiondb`` and ``libai_cli_session_db`` in ``directory`` to the installed library.

    Where the loader looks beside the executable (SwiftPM links executables with the
    rpath ``$ORIGIN`` on Linux, ``@loader_path`` on macOS), this is all a program needs
    to find the library without ``LD_LIBRARY_PATH``. Symlinks, not copies: the library
    finds its Python package from its real location.
    """
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    target = (LIBDIR / f"libsessiondb{suffix}").resolve()
    if not target.is_file():
        raise FileNotFoundError(f"{target} is not built (pip install .)")
    made = []
    for name in LIBRARY_NAMES:
        link = Path(directory) / f"lib{name}{suffix}"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
        made.append(link)
    return made


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--link-library"]:
        if len(args) != 2 or not Path(args[1]).is_dir():
            print("usage: python -m sessiondb --link-library DIR   (DIR must exist)", file=sys.stderr)
            return 2
        try:
            for link in link_library(args[1]):
                print(link)
        except OSError as exc:
            print(f"cannot link the library into {args[1]}: {exc}", file=sys.stderr)
            return 3
        return 0
    asked = [a for a in args if a in _FLAGS]
    if asked:
        unknown = [a for a in args if a not in _FLAGS]
        if unknown:
            print(f"unknown option(s) with the library flags: {' '.join(unknown)}", file=sys.stderr)
            return 2
        if set(asked) <= {"--cflags", "--libs"}:  # compiler flags go on one line, like pkg-config
            print(" ".join(answer(a) for a in asked))
        else:
            for flag in asked:
                print(answer(flag))
        return 0
    if importlib.util.find_spec("sessiondb.cli") is None:  # the command is not part of this build
        print(__doc__.strip())
        return 0 if not args or args[0] in ("-h", "--help") else 2
    from sessiondb import cli
    return cli.main(args)


if __name__ == "__main__":
    sys.exit(main())
