"""The Python side of libsessiondb's C ABI (``include/sessiondb.h``).

Loaded only by the library's embedded interpreter, which calls
:func:`sessiondb.capi.functions.install` once at start-up; ``import sessiondb`` never
loads it.
"""
