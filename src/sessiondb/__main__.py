"""``python -m sessiondb``: the command line, or where the C library is.

    python -m sessiondb --cflags --libs      # flags to compile and link a C program
    python -m sessiondb --libdir             # directory of libsessiondb.so
    python -m sessiondb --includedir         # directory of sessiondb.h
    python -m sessiondb --pkgconfigdir       # for PKG_CONFIG_PATH (pkg-config name: sessiondb)
    python -m sessiondb --link-library DIR   # symlinks to the library in DIR (beside an executable)

With none of these flags it runs the ``sessiondb`` command (which answers them too).
"""

from __future__ import annotations

import sys

from sessiondb.cli import main

if __name__ == "__main__":
    sys.exit(main())
