"""Build script. Metadata lives in pyproject.toml.

``pip install .`` (and ``pip install -e .``) also compiles the C ABI: cffi embedding
mode turns ``include/sessiondb.h`` and ``sessiondb.capi`` into
``sessiondb/_native/libsessiondb.so``, next to a relocatable ``pkgconfig/sessiondb.pc``
and a copy of the header in ``sessiondb/include/`` (see ``csrc/build_capi.py``).
Without a C compiler or Python's headers the rest installs anyway and build_info.json
says what was missing (``SESSIONDB_REQUIRE_CAPI=1`` makes that an error instead).
"""

from __future__ import annotations

import os
import sys

from setuptools import Distribution, Extension, setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "csrc"))
import build_capi  # noqa: E402


class BinaryDistribution(Distribution):
    """The package ships a compiled library: platform wheels, and build_ext always runs."""

    def has_ext_modules(self) -> bool:
        return True


class BuildCApi(build_ext):
    """build_ext that also builds libsessiondb into the package."""

    def run(self) -> None:
        super().run()
        if self.inplace or self.editable_mode:
            outdir = os.path.join(str(build_capi.PACKAGE), "_native")
        else:
            outdir = os.path.join(self.build_lib, "sessiondb", "_native")
        try:
            self._capi_outputs = build_capi.build(outdir, tmpdir=os.path.join(self.build_temp, "cffi-embed"),
                                                  verbose=bool(self.verbose))
        except Exception as exc:  # noqa: BLE001 - any build failure: install the rest without the library
            if os.environ.get("SESSIONDB_REQUIRE_CAPI") == "1":
                raise
            notice = build_capi.failure_notice(exc)
            self._capi_outputs = build_capi.write_skipped(outdir, notice)
            sys.stderr.write(notice + "\n")

    def get_outputs(self) -> list[str]:
        return super().get_outputs() + getattr(self, "_capi_outputs", [])


# The rank index's per-row work in C (``csrc/rankscan.c``); without a compiler the
# package uses the same work in Python (slower), unless SESSIONDB_REQUIRE_CAPI=1.
RANKSCAN = Extension("sessiondb._rankscan", ["csrc/rankscan.c"],
                     optional=os.environ.get("SESSIONDB_REQUIRE_CAPI") != "1")

setup(distclass=BinaryDistribution, cmdclass={"build_ext": BuildCApi}, ext_modules=[RANKSCAN])
