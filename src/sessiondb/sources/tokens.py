"""Token counts as the agents write them, read into :class:`~.records.UsageRecord` values.

Every agent has its own names and its own idea of what a count includes. The record
always means the same: ``input`` is input not read from a cache, ``cache_read`` the
cached input, ``cache_write`` input written to a cache, ``output`` output without the
model's reasoning, ``reasoning`` that reasoning. So:

* Anthropic (Claude Code): ``input_tokens`` already excludes both cache counts; no
  reasoning count.
* OpenAI (Codex): ``input_tokens`` includes ``cached_input_tokens``, and
  ``output_tokens`` includes ``reasoning_output_tokens``; both are taken apart.
* Google (Gemini CLI, Qwen Code): ``promptTokenCount``/``input`` includes the cached
  count; ``thoughts`` come on top of ``output``; ``tool`` (tool-use prompt) is input.
* OpenCode and the agents built like it: ``input``, ``output``, ``reasoning`` and
  ``cache.read``/``cache.write`` are apart already.

A count that is not a non-negative number (a string, a bool, a negative value, NaN)
reads as 0: bad input never stops a file, and is never counted as tokens.
"""

from __future__ import annotations

import math
from typing import Any

from .records import UsageRecord

# Larger counts are not real (and would not fit a C int64 sum): clipped.
MAX_COUNT = 1 << 48


def count(value: object) -> int:
    """A token count from a JSON value (0 unless it is a non-negative number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    return min(int(value), MAX_COUNT) if value > 0 else 0


def money(value: object) -> float | None:
    """A reported cost (None unless it is a finite non-negative number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else None


def _get(data: Any, *path: str) -> object:
    for name in path:
        if not isinstance(data, dict):
            return None
        data = data.get(name)
    return data


def anthropic(data: object, key: str, **fields: Any) -> UsageRecord | None:
    """Claude's ``message.usage``; None when it holds no tokens."""
    if not isinstance(data, dict):
        return None
    record = UsageRecord(key, input=count(data.get("input_tokens")), output=count(data.get("output_tokens")),
                         cache_read=count(data.get("cache_read_input_tokens")),
                         cache_write=count(data.get("cache_creation_input_tokens")), **fields)
    return record if record.total else None


def openai(data: object, key: str, **fields: Any) -> UsageRecord | None:
    """A Codex ``TokenUsage`` (``input_tokens`` includes the cached part, ``output_tokens``
    the reasoning); None when it holds no tokens."""
    if not isinstance(data, dict):
        return None
    total_input = count(data.get("input_tokens"))
    cached = min(count(data.get("cached_input_tokens")), total_input)
    total_output = count(data.get("output_tokens"))
    reasoning = min(count(data.get("reasoning_output_tokens")), total_output)
    record = UsageRecord(key, input=total_input - cached, output=total_output - reasoning, cache_read=cached,
                         reasoning=reasoning, **fields)
    return record if record.total else None


def google(data: object, key: str, **fields: Any) -> UsageRecord | None:
    """Gemini CLI's ``tokens`` ({input, output, cached, thoughts, tool, total}) or an API
    ``usageMetadata`` ({promptTokenCount, candidatesTokenCount, cachedContentTokenCount,
    thoughtsTokenCount, toolUsePromptTokenCount}); None when it holds no tokens."""
    if not isinstance(data, dict):
        return None
    if "promptTokenCount" in data or "candidatesTokenCount" in data:
        prompt, output = count(data.get("promptTokenCount")), count(data.get("candidatesTokenCount"))
        cached, thoughts = count(data.get("cachedContentTokenCount")), count(data.get("thoughtsTokenCount"))
        tool = count(data.get("toolUsePromptTokenCount"))
    else:
        prompt, output = count(data.get("input")), count(data.get("output"))
        cached, thoughts, tool = count(data.get("cached")), count(data.get("thoughts")), count(data.get("tool"))
    cached = min(cached, prompt)
    record = UsageRecord(key, input=prompt - cached + tool, output=output, cache_read=cached, reasoning=thoughts,
                         **fields)
    return record if record.total else None


def split(data: object, key: str, **fields: Any) -> UsageRecord | None:
    """OpenCode-style ``{input, output, reasoning, cache: {read, write}}`` (all apart);
    None when it holds no tokens."""
    if not isinstance(data, dict):
        return None
    record = UsageRecord(key, input=count(data.get("input")), output=count(data.get("output")),
                         cache_read=count(_get(data, "cache", "read")), cache_write=count(_get(data, "cache", "write")),
                         reasoning=count(data.get("reasoning")), **fields)
    return record if record.total else None
