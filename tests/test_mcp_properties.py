"""Arbitrary arguments never crash `sessiondb mcp`: every call gets a tool result (an
answer whose structured content the SDK's client has checked against the tool's output
schema, or an error naming the problem), and the server keeps answering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mcp.shared.exceptions import MCPError

from sessiondb.mcp import schemas
from sessiondb.mcp.tools import DEFAULT_BUDGET

from mcp_helpers import LONG_SESSION, build_archive, stdio_session

SESSION_IDS = ["5e0c9a2e-3f41-4b7a-9d0e-2a6c1f8b7d30", LONG_SESSION, "5e0c", "long-session-000", "nope"]
PATHS = ["/home/demo/webshop", "/home/demo/webshop/src", "/work/outer/inner/x", "/", "relative", "/nowhere"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6)


def _typed(name: str, spec: dict) -> st.SearchStrategy:
    """Values of the schema's type for one property, edge cases included."""
    if "enum" in spec:
        return st.sampled_from(spec["enum"])
    kind = spec["type"]
    if kind == "integer":
        return st.integers(-10, 300) | st.integers(100, 5000) | st.sampled_from([2 ** 63 - 1, -(2 ** 63), 10 ** 12])
    if kind == "boolean":
        return st.booleans()
    if name == "session":
        return st.sampled_from(SESSION_IDS[:2]) | st.sampled_from(SESSION_IDS) | st.text(min_size=1, max_size=30)
    if name == "cwd":
        return st.sampled_from(PATHS) | st.text(max_size=30).map(lambda t: "/" + t)
    if name in ("since", "until"):
        return st.sampled_from(["7d", "today", "yesterday", "2026-01-15", "2026-01-15T10:00:00Z", "0", "12h",
                                "1768435200000", "9999-12-31", "0001-01-01", "2000w"])
    if name == "cursor":
        return st.sampled_from(["eyJvIjozLCJrIjoiMCJ9", "=", "e30"]) | st.text(max_size=30)
    if name == "query":
        return st.text(min_size=1, max_size=60) | st.sampled_from(
            ["database locked", '"token bucket"', "结账", "shard*", "-x", "OR", "a OR b -c", "NOT", '"'])
    return st.text(max_size=30)


def _calls(tool: dict, *, junk: bool) -> st.SearchStrategy:
    schema = tool["inputSchema"]
    values = {name: (_typed(name, spec) | json_values) if junk else _typed(name, spec)
              for name, spec in schema["properties"].items() if junk or name != "cursor"}
    required = {name: values.pop(name) for name in schema.get("required", ()) if not junk}
    arguments = st.fixed_dictionaries(required, optional=values)
    if junk:
        stray = st.dictionaries(st.text(max_size=12), json_values, max_size=2)
        arguments = arguments | st.builds(lambda a, b: {**b, **a}, arguments, stray)
    return st.tuples(st.just(tool["name"]), arguments)


calls = st.one_of(*[_calls(t, junk=False) for t in schemas.TOOLS], *[_calls(t, junk=True) for t in schemas.TOOLS])


@pytest.fixture(scope="module")
def mcp(tmp_path_factory: pytest.TempPathFactory):
    path: Path = tmp_path_factory.mktemp("archive") / "sessions.db"
    build_archive(path)
    session = stdio_session(path, tmp_path_factory.mktemp("home"))
    yield session
    session.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(call=calls)
def test_arbitrary_arguments_never_crash_the_server(mcp, call):
    name, arguments = call
    result = mcp.call(name, arguments)      # the client raises if structured content breaks the output schema
    text = result.content[0].text
    event(f"{name}: {'error' if result.is_error else 'answer'}")
    assert text
    if result.is_error:
        assert text.startswith("Error: ") and "Traceback" not in text
    else:
        assert isinstance(result.structured_content, dict)
        assert len(text) <= DEFAULT_BUDGET
        assert len(json.dumps(result.structured_content, ensure_ascii=False)) <= DEFAULT_BUDGET


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=20).filter(lambda n: n not in schemas.BY_NAME), arguments=json_values)
def test_unknown_tools_are_protocol_errors_and_the_server_goes_on(mcp, name, arguments):
    with pytest.raises(MCPError, match="unknown tool"):
        mcp.call(name, arguments if isinstance(arguments, dict) else {"value": arguments})
    assert not mcp.call("get_stats", {}).is_error
