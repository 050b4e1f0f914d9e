"""Build libsessiondb (cffi embedding mode) from include/sessiondb.h.

The header is the one source of truth. This script reads the block between its
``@@SESSIONDB_API_BEGIN@@`` / ``@@SESSIONDB_API_END@@`` markers and produces:

* the cffi ``cdef``: every type, the C-implemented functions (defined in
  ``csrc/sessiondb_glue.c``), and one ``extern "Python"`` function ``_py_<name>``
  for every other prototype;
* one exported C entry point per Python-implemented prototype, which makes sure the
  interpreter runs and then calls ``_py_<name>`` (implemented in
  ``sessiondb.capi``). Because the glue includes the header, the compiler checks each
  generated definition against its prototype.

Run directly for a development build into ``src/sessiondb/_native``::

    python csrc/build_capi.py [--outdir DIR] [--no-libpython]

``setup.py`` calls :func:`build` and :func:`write_pkgconfig` during ``pip install``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "include" / "sessiondb.h"
# The upstream ABI as ETerm's plugins use it; served by the same library (see its top comment).
UPSTREAM_HEADER = ROOT / "include" / "ai_cli_session_db.h"
GLUE = ROOT / "csrc" / "sessiondb_glue.c"
PACKAGE = ROOT / "src" / "sessiondb"
MODULE_NAME = "_sessiondb_cffi"
LIBRARY_NAME = "sessiondb"
# ETerm's module map links "ai_cli_session_db": the library is also installed under that name.
UPSTREAM_LIBRARY_NAME = "ai_cli_session_db"
BEGIN_MARK = "@@SESSIONDB_API_BEGIN@@"
END_MARK = "@@SESSIONDB_API_END@@"

# Status returned by an entry point when the interpreter cannot start.
_FAILURE_RETURNS = {"enum SessionDbError": "Unknown", "void": "", "bool": "false"}
# Exported function names: the library's prefix, and the upstream agent client's.
FUNCTION_NAME = r"(?:session_db|agent_client)_\w+"

INIT_CODE = r'''
def _sessiondb_bootstrap():
    import importlib.util
    import os
    import sys
    from _sessiondb_cffi import ffi, lib
    try:
        root = os.environ.get("SESSIONDB_PYTHONPATH")
        if not root:
            # <root>/sessiondb/_native/libsessiondb.so: <root> is site-packages or src/.
            library = os.path.realpath(ffi.string(lib._sdb_self_path()).decode())
            root = os.path.dirname(os.path.dirname(os.path.dirname(library)))
        spec = importlib.util.find_spec("sessiondb")
        found = spec is not None and spec.origin and \
            os.path.realpath(spec.origin).startswith(os.path.realpath(root) + os.sep)
        if not found and root not in sys.path:
            sys.path.insert(0, root)
        import signal  # noqa: F401  (imported now so the C side can restore the host's handlers after it)
        from sessiondb.capi.functions import install
        install(ffi, lib)
    except BaseException as exc:
        message = "sessiondb: cannot load the Python package: %s: %s" % (type(exc).__name__, exc)
        lib._sdb_set_init_error(message.encode("utf-8", "replace"))
        raise

_sessiondb_bootstrap()
del _sessiondb_bootstrap
'''


@dataclass(frozen=True)
class Prototype:
    """One function of the header."""

    name: str
    returns: str
    params: str  # as written, without the parentheses

    @property
    def param_names(self) -> list[str]:
        if self.params.strip() in ("", "void"):
            return []
        return [re.findall(r"\w+", p)[-1] for p in split_params(self.params)]

    @property
    def returns_struct(self) -> bool:
        """Returned by value as a struct (ParseResult): Python fills an out-pointer instead."""
        return self.returns.startswith("struct ") and "*" not in self.returns


@dataclass(frozen=True)
class Api:
    types: str
    prototypes: list[Prototype]


def normalise_type(text: str) -> str:
    """``char*`` / ``char  *`` -> ``char *``."""
    text = re.sub(r"\s*\*\s*", " *", " ".join(text.split()))
    return text.replace("* *", "**").strip()


def split_params(params: str) -> list[str]:
    return [p.strip() for p in params.split(",") if p.strip()]


def read_api(header_text: str) -> Api:
    """Types and prototypes of the marked block of the header."""
    try:
        block = header_text.split(BEGIN_MARK, 1)[1].split(END_MARK, 1)[0]
    except IndexError:
        raise SystemExit(f"{HEADER}: the {BEGIN_MARK} / {END_MARK} markers are missing") from None
    block = block.split("*/", 1)[1] if block.lstrip().startswith("*/") else block
    block = re.sub(r"/\*.*?\*/", " ", block, flags=re.S)
    block = re.sub(r"//[^\n]*", " ", block)
    if re.search(r"^\s*#", block, flags=re.M):
        raise SystemExit(f"{HEADER}: no preprocessor lines inside the marked block")
    types, prototypes = [], []
    depth, start = 0, 0
    for i, ch in enumerate(block):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ";" and depth == 0:
            statement = " ".join(block[start:i].split())
            start = i + 1
            if not statement:
                continue
            if statement.startswith("typedef") or "{" in statement:
                types.append(statement + ";")
                continue
            match = re.fullmatch(rf"(.+?)\s*\b({FUNCTION_NAME})\s*\((.*)\)", statement)
            if not match:
                raise SystemExit(f"{HEADER}: cannot read declaration {statement!r}")
            prototypes.append(Prototype(match.group(2), normalise_type(match.group(1)), match.group(3)))
    return Api("\n".join(types), prototypes)


def c_implemented(glue_text: str) -> set[str]:
    """Functions the glue defines itself (``SDB_API <type> session_db_x(...) {``)."""
    return set(re.findall(rf"^SDB_API\b[^;{{(]*?\b({FUNCTION_NAME})\s*\(", glue_text, flags=re.M))


def python_implemented(api: Api, glue_text: str) -> list[Prototype]:
    in_c = c_implemented(glue_text)
    declared = {p.name for p in api.prototypes}
    stray = in_c - declared
    if stray:
        raise SystemExit(f"glue defines functions the header does not declare: {sorted(stray)}")
    return [p for p in api.prototypes if p.name not in in_c]


def extern_python_signature(proto: Prototype) -> str:
    """The ``_py_`` counterpart: struct returns become a trailing out-pointer."""
    if proto.returns_struct:
        params = [] if proto.params.strip() in ("", "void") else split_params(proto.params)
        params.append(f"{proto.returns} *out_result")
        return f"void _py_{proto.name}({', '.join(params)})"
    return f"{proto.returns} _py_{proto.name}({proto.params})"


def entry_point(proto: Prototype) -> str:
    """The exported C function: start Python if needed, then call ``_py_<name>``."""
    args = ", ".join(proto.param_names)
    head = f"SDB_API {proto.returns} {proto.name}({proto.params})"
    if proto.returns_struct:
        call_args = ", ".join([*proto.param_names, "&result"])
        return (f"{head}\n{{\n    {proto.returns} result;\n    memset(&result, 0, sizeof result);\n"
                f"    result.error = Unknown;\n    sdb_clear_error();\n"
                f"    if (sdb_ensure_python() == 0)\n        _py_{proto.name}({call_args});\n"
                f"    return result;\n}}\n")
    if proto.returns == "void":
        return (f"{head}\n{{\n    sdb_clear_error();\n    if (sdb_ensure_python() == 0)\n"
                f"        _py_{proto.name}({args});\n}}\n")
    failure = _FAILURE_RETURNS.get(proto.returns, "NULL" if proto.returns.endswith("*") else None)
    if failure is None:
        raise SystemExit(f"no failure value for return type {proto.returns!r} of {proto.name}")
    return (f"{head}\n{{\n    sdb_clear_error();\n    if (sdb_ensure_python() != 0)\n        return {failure};\n"
            f"    return _py_{proto.name}({args});\n}}\n")


def c_string(value: str) -> str:
    return json.dumps(value)  # JSON string escapes are valid C for these paths and versions


def read_version() -> str:
    text = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__\s*=\s*"([^"]+)"', text, flags=re.M).group(1)


def library_filename(name: str = LIBRARY_NAME) -> str:
    return f"lib{name}.dylib" if sys.platform == "darwin" else f"lib{name}.so"


def install_link_name(outdir: Path) -> Path:
    """``libai_cli_session_db`` beside ``libsessiondb``: a symlink (a copy where symlinks fail).

    Either way a program linked through it records the library's soname / install name
    (libsessiondb), so one process never loads two copies of the library.
    """
    alias = outdir / library_filename(UPSTREAM_LIBRARY_NAME)
    if alias.is_symlink() or alias.exists():
        alias.unlink()
    try:
        alias.symlink_to(library_filename())
    except OSError:
        shutil.copyfile(outdir / library_filename(), alias)
    return alias


def make_builder(link_libpython: bool = True):
    import cffi

    header_text = HEADER.read_text(encoding="utf-8")
    glue_text = GLUE.read_text(encoding="utf-8")
    api = read_api(header_text)
    in_python = python_implemented(api, glue_text)
    in_c = [p for p in api.prototypes if p not in in_python]

    ffibuilder = cffi.FFI()
    cdef = [api.types]
    cdef += [f"{p.returns} {p.name}({p.params});" for p in in_c]
    cdef += [f'extern "Python" {extern_python_signature(p)};' for p in in_python]
    cdef.append("void _sdb_set_error(int code, const char *message);\n"
                "void _sdb_set_sqlite_code(int code);\n"
                "void _sdb_set_init_error(const char *message);\n"
                "char *_sdb_strndup(const char *s, size_t n);\n"
                "void *_sdb_calloc(size_t count, size_t size);\n"
                "const char *_sdb_self_path(void);\n"
                "const char *_sdb_built_version(void);")
    ffibuilder.cdef("\n".join(cdef))

    py_short = f"{sys.version_info.major}.{sys.version_info.minor}"
    soname = sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY") or ""
    baked = (f"#define SDB_VERSION {c_string(read_version())}\n"
             f"#define SDB_BUILD_PYTHON {c_string(os.path.abspath(sys.executable))}\n"
             f"#define SDB_LIBPYTHON_SONAME {c_string(soname)}\n"
             f"#define SDB_PY_SHORT {c_string(py_short)}\n")
    forward = "".join(f"static {extern_python_signature(p)};\n" for p in in_python)
    entries = "\n".join(entry_point(p) for p in in_python)
    source = f"{baked}\n{glue_text}\n/* generated entry points */\n{forward}\n{entries}"

    libdir = sysconfig.get_config_var("LIBDIR") or ""
    filename = library_filename()
    link_args = []
    if sys.platform == "darwin":
        link_args += [f"-Wl,-install_name,@rpath/{filename}"]
        if link_libpython and libdir:
            link_args += [f"-Wl,-rpath,{libdir}"]
    else:
        link_args += [f"-Wl,-soname,{filename}"]
        if link_libpython and libdir:
            link_args += [f"-Wl,-rpath,{libdir}"]
    ffibuilder.set_source(
        MODULE_NAME, source,
        include_dirs=[str(HEADER.parent)],
        library_dirs=[libdir] if link_libpython and libdir else [],
        libraries=["dl", "pthread"] if sys.platform != "darwin" else [],
        extra_compile_args=["-fvisibility=hidden", "-O2", "-Wall", "-Wno-unused-function"],
        extra_link_args=link_args)
    if not link_libpython:
        # Wheels for manylinux: leave Py* undefined like an ordinary extension module
        # (no libpython.so there); programs link libpython themselves (--libs says how).
        ffibuilder._apply_embedding_fix = lambda kwds: None
    ffibuilder.embedding_init_code(INIT_CODE)
    return ffibuilder, filename


def build(outdir: str | os.PathLike[str], tmpdir: str | os.PathLike[str] | None = None,
          link_libpython: bool | None = None, verbose: bool = False) -> list[str]:
    """Compile the library into ``outdir`` (the package's ``_native`` directory).

    Also writes ``build_info.json`` and the pkg-config file, and copies the header to
    ``<outdir>/../include``. Returns the paths written.
    """
    if link_libpython is None:
        link_libpython = os.environ.get("SESSIONDB_LINK_LIBPYTHON", "1") != "0"
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tmpdir).resolve() if tmpdir else outdir.parent.parent.parent / "build" / "cffi-embed"
    tmpdir.mkdir(parents=True, exist_ok=True)
    ffibuilder, filename = make_builder(link_libpython)
    target = outdir / f"lib{LIBRARY_NAME}.*"  # cffi picks .so or .dylib
    built = ffibuilder.compile(tmpdir=str(tmpdir), target=str(target), verbose=verbose)
    info = outdir / "build_info.json"
    info.write_text(json.dumps({
        "version": read_version(), "library": filename, "links_libpython": link_libpython,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }, indent=2) + "\n", encoding="utf-8")
    include = outdir.parent / "include"
    include.mkdir(exist_ok=True)
    copies = []
    for header in (HEADER, UPSTREAM_HEADER):
        copies.append(include / header.name)
        shutil.copyfile(header, copies[-1])
    alias = install_link_name(outdir)
    pc = write_pkgconfig(outdir / "pkgconfig", read_version(), link_libpython)
    return [str(built), str(alias), str(info), *map(str, copies), str(pc)]


def write_pkgconfig(directory: str | os.PathLike[str], version: str, link_libpython: bool = True) -> Path:
    """A relocatable ``sessiondb.pc``: paths are relative to the file itself."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    requires = "" if link_libpython else \
        f"Requires: python-{sys.version_info.major}.{sys.version_info.minor}-embed\n"
    text = ("prefix=${pcfiledir}/../..\n"
            "libdir=${prefix}/_native\n"
            "includedir=${prefix}/include\n\n"
            "Name: sessiondb\n"
            "Description: Shared database of AI coding-CLI sessions (C ABI)\n"
            f"Version: {version}\n{requires}"
            "Cflags: -I${includedir}\n"
            "Libs: -L${libdir} -Wl,-rpath,${libdir} -lsessiondb\n")
    path = directory / "sessiondb.pc"
    path.write_text(text, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outdir", default=str(PACKAGE / "_native"))
    parser.add_argument("--no-libpython", action="store_true", help="do not link libpython (manylinux wheels)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    for path in build(args.outdir, link_libpython=not args.no_libpython, verbose=args.verbose):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
