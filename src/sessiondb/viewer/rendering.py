"""Turning untrusted session text into safe HTML: markdown, highlighted code, snippets.

Everything returned here is markup built from escaped text. Markdown is parsed with
raw HTML disabled; links keep only http, https and mailto targets (anything else,
``javascript:`` included, stays visible as text); images become plain links so that a
transcript never loads anything from the network.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache

from markupsafe import Markup, escape

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from collections.abc import Sequence

    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict
    from pygments.formatters import HtmlFormatter
    from pygments.lexer import Lexer

# Text longer than this is shown preformatted instead of parsed as markdown (cost).
MARKDOWN_MAX_CHARS = 100_000
# Code longer than this is shown without highlighting (pygments cost).
HIGHLIGHT_MAX_CHARS = 60_000
SAFE_SCHEMES = ("http:", "https:", "mailto:")
# Sentinels for search highlights: escaped text cannot contain markup, so the marks are
# put in after escaping.
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"
_MARKED = re.compile(f"{MARK_OPEN}(.*?){MARK_CLOSE}", re.S)


def _link_is_safe(url: str) -> bool:
    target = re.sub(r"[\x00-\x20\x7f]", "", url).lower()
    return target.startswith(SAFE_SCHEMES)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    class SafeLinks(MarkdownIt):
        def validateLink(self, url: str) -> bool:
            return _link_is_safe(url)

    md = SafeLinks("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])

    # Render rules, called as methods of the renderer.
    def fence(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        lang = token.info.strip().split()[0] if token.info.strip() else ""
        return str(code_block(token.content, lang))

    def code_block_rule(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                        env: EnvType) -> str:
        return str(code_block(tokens[idx].content, ""))

    def image(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        alt = escape(token.content or "image")
        src = str(token.attrGet("src") or "")
        if _link_is_safe(src):
            return f'<a class="image-link" href="{escape(src)}" rel="noopener noreferrer nofollow">[image: {alt}]</a>'
        return f"[image: {alt}]"

    def link_open(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                  env: EnvType) -> str:
        tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("fence", fence)
    md.add_render_rule("code_block", code_block_rule)
    md.add_render_rule("image", image)
    md.add_render_rule("link_open", link_open)
    return md


def markdown(text: str) -> Markup:
    """Markdown to HTML (raw HTML shown as text, unsafe links as text)."""
    if not text:
        return Markup("")
    if len(text) > MARKDOWN_MAX_CHARS:
        return preformatted(text)
    return Markup(_markdown().render(text))


def preformatted(text: str, css: str = "plain") -> Markup:
    return Markup(f'<pre class="{css}">{escape(text)}</pre>')


@lru_cache(maxsize=64)
def _lexer(lang: str) -> Lexer | None:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@lru_cache(maxsize=1)
def _formatter() -> HtmlFormatter[str]:
    from pygments.formatters import HtmlFormatter

    # CSS classes, not inline styles: the stylesheet ships with the viewer and the CSP
    # allows no inline style.
    return HtmlFormatter(nowrap=True, classprefix="hl-")


def code_block(code: str, lang: str = "") -> Markup:
    """A ``<pre><code>`` block, highlighted when the language is known and the code not huge."""
    lang = re.sub(r"[^A-Za-z0-9_+#.-]", "", lang or "")[:32]
    lexer = _lexer(lang.lower()) if lang else None
    label = f' data-lang="{escape(lang)}"' if lang else ""
    if lexer is None or len(code) > HIGHLIGHT_MAX_CHARS:
        return Markup(f'<pre class="code"{label}><code>{escape(code)}</code></pre>')
    from pygments import highlight

    return Markup(f'<pre class="code"{label}><code>{highlight(code, lexer, _formatter())}</code></pre>')


def pretty_json(text: str | None) -> tuple[str, bool]:
    """(text, is_json): JSON re-indented for reading, anything else unchanged."""
    if not text:
        return "", False
    try:
        value = json.loads(text)
    except ValueError:
        return text, False
    return json.dumps(value, indent=2, ensure_ascii=False), True


def marked_snippet(snippet: str) -> Markup:
    """A search snippet made with the MARK sentinels: escaped, the marks as ``<mark>``."""
    safe = str(escape(snippet))
    safe = _MARKED.sub(r"<mark>\1</mark>", safe)
    return Markup(safe.replace(MARK_OPEN, "").replace(MARK_CLOSE, ""))


def when(ms: int | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if ms is None:
        return ""
    try:
        return datetime.fromtimestamp(ms / 1000).strftime(fmt)
    except (OverflowError, OSError, ValueError):
        return ""


def iso(ms: int | None) -> str:
    if ms is None:
        return ""
    try:
        return datetime.fromtimestamp(ms / 1000).astimezone().isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return ""


_UNUSED_RULES = ("pre { line-height", "td.", "span.linenos", "pre.code .hll")


def _token_rules(style: str) -> str:
    from pygments.formatters import HtmlFormatter

    formatter: HtmlFormatter[str] = HtmlFormatter(style=style, classprefix="hl-")
    css: str = formatter.get_style_defs("pre.code")  # type: ignore[no-untyped-call]  # unannotated in types-Pygments
    # The styles set their own block backgrounds; the viewer's stylesheet owns the block's look.
    return "\n".join(line for line in css.splitlines()
                     if not line.startswith(_UNUSED_RULES) and not re.match(r"pre\.code\s*\{", line))


@lru_cache(maxsize=1)
def pygments_css() -> str:
    """Token colours for highlighted code (light and dark), from pygments' own styles."""
    return f"{_token_rules('friendly')}\n@media (prefers-color-scheme: dark) {{\n{_token_rules('monokai')}\n}}\n"
