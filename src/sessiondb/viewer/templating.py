"""The Jinja2 environment: autoescaping on, the renderers as filters, static files in memory."""

from __future__ import annotations

import hashlib
from base64 import b64encode
from functools import lru_cache
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from . import rendering

STATIC_FILES = {"viewer.css": "text/css; charset=utf-8", "viewer.js": "text/javascript; charset=utf-8",
                "favicon.svg": "image/svg+xml"}
ROLE_LABELS = {"user": "User", "assistant": "Assistant", "tool": "Tool", "system": "System"}


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("sessiondb.viewer", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(markdown=rendering.markdown, code=rendering.code_block, when=rendering.when,
                       iso=rendering.iso, snippet=rendering.marked_snippet, pre=rendering.preformatted)
    env.globals.update(pretty_json=rendering.pretty_json, role_label=lambda r: ROLE_LABELS.get(r, r),
                       short=lambda s, n=8: s[:n])
    return env


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)


@lru_cache(maxsize=None)
def static_file(name: str) -> bytes:
    """A file shipped in ``viewer/static`` (the only files the server ever sends)."""
    if name not in STATIC_FILES:
        raise KeyError(name)
    data = resources.files("sessiondb.viewer").joinpath("static", name).read_bytes()
    if name == "viewer.css":
        data += b"\n/* code highlighting (pygments) */\n" + rendering.pygments_css().encode()
    return data


def csp_hash(data: bytes) -> str:
    return "'sha256-" + b64encode(hashlib.sha256(data).digest()).decode() + "'"
