"""Prices per model, to turn token counts into money.

The package ships a dated table (``sessiondb/data/prices.json``: USD per million
tokens of input, output, cache read and cache write, per model). A user's file of the
same shape adds models or replaces their prices, model by model; it is, in order: the
path given to :func:`load_prices`, ``$SESSIONDB_PRICES``, else
``$XDG_CONFIG_HOME/sessiondb/prices.json`` (``~/.config/sessiondb/prices.json``) when
it exists. A file of only ``{"models": {"my-model": {"input": 1, "output": 2}}}`` is
enough; a missing cache price is the input price.

Model names are matched after taking off what varies around the same model: case, a
provider prefix (``anthropic/``, ``openai/``, ``us.anthropic.``), a date suffix
(``-20250929``, ``-2025-08-07``, ``@20250514``), ``-latest`` and a ``-v1:0`` version
tag. A model matching no entry has no price: callers report it as such, never as zero.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

from ._record import record
from .errors import ConfigError

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from typing import Any

ENV_PRICES = "SESSIONDB_PRICES"
_BUNDLED = "prices.json"
_FIELDS = ("input", "output", "cache_read", "cache_write")
_DATE_SUFFIX = re.compile(r"(?:[-@]\d{8}|-\d{4}-\d{2}-\d{2}|-latest|-v\d+(?::\d+)?|\[[^\]]*\])$")
_VENDOR_DOT = re.compile(r"^(?:[a-z]{2}\.)?(?:anthropic|openai|google|meta|amazon)\.")


@record
class ModelPrice:
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float
    cache_write: float

    def cost(self, input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0,
             reasoning: int = 0) -> float:
        """The cost of these counts (reasoning is billed as output)."""
        return (input_tokens * self.input + (output_tokens + reasoning) * self.output
                + cache_read * self.cache_read + cache_write * self.cache_write) / 1_000_000


@record
class PriceTable:
    """Prices by normalised model name. ``date`` is the bundled table's date, ``files``
    the user files merged into it."""

    models: dict[str, ModelPrice]
    date: str | None = None
    files: tuple[str, ...] = ()

    def price(self, model: str | None) -> ModelPrice | None:
        if not model:
            return None
        return self.models.get(normalize_model(model))

    def merged(self, data: Any, origin: str) -> PriceTable:
        models = dict(self.models)
        models.update(_parse_models(data, origin))
        return PriceTable(models, self.date, self.files + (origin,))


def normalize_model(model: str) -> str:
    """The name a model is looked up under (see the module docstring)."""
    name = model.strip().lower()
    if "/" in name:
        name = name.rsplit("/", 1)[1]
    name = _VENDOR_DOT.sub("", name)
    for _ in range(3):
        stripped = _DATE_SUFFIX.sub("", name)
        if stripped == name or not stripped:
            break
        name = stripped
    return name


def bundled_prices() -> PriceTable:
    """The table shipped with the package."""
    from importlib import resources

    text = (resources.files("sessiondb") / "data" / _BUNDLED).read_text(encoding="utf-8")
    data = json.loads(text)
    return PriceTable(_parse_models(data, "bundled prices"), str(data.get("date")) if data.get("date") else None)


def user_prices_path() -> Path | None:
    """The user's price file: ``$SESSIONDB_PRICES``, else the config file when it exists."""
    env = os.environ.get(ENV_PRICES)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = Path(base) / "sessiondb" / "prices.json"
    return path if path.is_file() else None


def load_prices(path: str | os.PathLike[str] | None = None) -> PriceTable:
    """The bundled table, with the user's file (``path``, else :func:`user_prices_path`)
    merged in. A file that cannot be read or is not a price table raises
    :class:`~sessiondb.errors.ConfigError` naming it."""
    table = bundled_prices()
    chosen = Path(path).expanduser() if path is not None else user_prices_path()
    if chosen is None:
        return table
    try:
        data = json.loads(chosen.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read the price file {chosen}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"the price file {chosen} is not JSON: {exc}") from exc
    return table.merged(data, str(chosen))


def _parse_models(data: Any, origin: str) -> dict[str, ModelPrice]:
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise ConfigError(f"{origin}: expected an object with \"models\": {{name: {{input, output, ...}}}}")
    out: dict[str, ModelPrice] = {}
    for name, entry in models.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{origin}: the price of {name!r} is not an object")
        values: dict[str, float] = {}
        for key in _FIELDS:
            value = entry.get(key)
            if value is None and key.startswith("cache_") and "input" in values:
                value = values["input"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise ConfigError(f"{origin}: {name!r} needs {key} as a non-negative number (USD per million tokens)")
            values[key] = float(value)
        price = ModelPrice(**values)
        aliases = entry.get("aliases")
        for alias in [name] + ([a for a in aliases if isinstance(a, str)] if isinstance(aliases, list) else []):
            out[normalize_model(alias)] = price
    return out
