"""Every ``@record`` class behaves like its ``@dataclass(frozen=True, slots=True)`` twin."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import pickle
import pkgutil
import subprocess
import sys
import threading

import pytest

import sessiondb
from sessiondb import CoordinationConfig, DbConfig, SearchResult
from sessiondb._record import field, record


def record_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(sessiondb.__path__, "sessiondb."):
        if info.name.split(".")[1] in {"viewer", "mcp", "mirror", "capi", "cli", "__main__"}:
            continue  # the faces (optional dependencies, entry points) declare no records
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and "__record_defaults__" in value.__dict__ and value.__module__ == info.name:
                found.append(value)
    return found


def twin_of(cls: type) -> type:
    """The dataclass the record stands for, made by ``dataclasses`` from the same declaration."""
    namespace = {"__annotations__": dict(cls.__annotations__), "__module__": cls.__module__,
                 "__qualname__": cls.__qualname__}
    for name, default in cls.__dict__["__record_defaults__"].items():
        namespace[name] = (dataclasses.field(default_factory=default.make) if hasattr(default, "make")
                           else default)
    if "__post_init__" in cls.__dict__:
        namespace["__post_init__"] = cls.__dict__["__post_init__"]
    return dataclasses.dataclass(frozen=True, slots=True)(type(cls.__name__, (), namespace))


RECORDS = record_classes()
PLAIN = [cls for cls in RECORDS if "__post_init__" not in cls.__dict__]


def test_the_package_models_are_records() -> None:
    names = {cls.__name__ for cls in RECORDS}
    assert {"Message", "SearchResult", "Session", "Project", "DbConfig", "CoordinationConfig",
            "WriterInfo"} <= names, names


@pytest.mark.parametrize("cls", PLAIN, ids=lambda c: c.__qualname__)
def test_a_record_is_its_dataclass_twin(cls: type) -> None:
    twin = twin_of(cls)
    names = [f.name for f in dataclasses.fields(twin)]
    values = [f"{name}-value" for name in names]
    ours, theirs = cls(*values), twin(*values)
    assert repr(ours) == repr(theirs)
    assert hash(ours) == hash(theirs) and ours == cls(**dict(zip(names, values)))
    assert ours != theirs and ours != tuple(values)
    assert cls.__match_args__ == twin.__match_args__ and cls.__slots__ == twin.__slots__
    assert not hasattr(ours, "__dict__")
    assert dataclasses.is_dataclass(cls) and dataclasses.is_dataclass(ours)
    assert [(f.name, f.default, f.default_factory) for f in dataclasses.fields(ours)] == \
        [(f.name, f.default, f.default_factory) for f in dataclasses.fields(theirs)]
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)
    changed = dataclasses.replace(ours, **{names[0]: "changed"})
    assert type(changed) is cls and getattr(changed, names[0]) == "changed" and changed != ours
    for clone in (pickle.loads(pickle.dumps(ours)), copy.copy(ours), copy.deepcopy(ours)):
        assert type(clone) is cls and clone == ours and repr(clone) == repr(ours)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ours, names[0], "other")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(ours, names[-1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        ours.not_a_field = 1  # type: ignore[attr-defined]
    required = [f for f in dataclasses.fields(twin) if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    if required:
        with pytest.raises(TypeError) as ours_error:
            cls()
        with pytest.raises(TypeError) as their_error:
            twin()
        assert str(ours_error.value) == str(their_error.value)
    else:
        assert cls() == cls(*[f.default for f in dataclasses.fields(twin)])
    with pytest.raises(TypeError):
        cls(*values, "one too many")


def test_defaults_factories_and_post_init() -> None:
    default = DbConfig.local("~/x.db")
    assert default.coordination == CoordinationConfig() and default.path.is_absolute()
    assert DbConfig(path="/tmp/a.db").coordination is not DbConfig(path="/tmp/a.db").coordination  # type: ignore[arg-type]
    assert dataclasses.fields(DbConfig)[3].default_factory is CoordinationConfig
    with pytest.raises(sessiondb.ConfigError):
        CoordinationConfig(confirm_count=0)
    moved = dataclasses.replace(default, path="/tmp/b.db")
    assert str(moved.path) == "/tmp/b.db" and moved.coordination == default.coordination
    assert pickle.loads(pickle.dumps(default)) == default
    hit = SearchResult(1, "s", 2, "p", "user", "full", "snip", 1.5, 10)
    assert (hit.uuid, hit.source, hit.project_path) == ("", None, "")
    match hit:
        case SearchResult(message_id, session_id):
            assert (message_id, session_id) == (1, "s")


def test_a_factory_default_is_built_per_instance() -> None:
    @record
    class Bag:
        name: str
        items: list[int] = field(default_factory=list)

    first, second = Bag("a"), Bag("b")
    first.items.append(1)
    assert second.items == [] and Bag("c", [2]).items == [2] and repr(first).endswith("Bag(name='a', items=[1])")


def test_many_threads_making_the_first_instances_at_once() -> None:
    """Each class's __init__ and fields are made once, whichever thread comes first."""
    program = r"""
import dataclasses, threading
from sessiondb import models
classes = [v for v in vars(models).values() if isinstance(v, type) and "__record_defaults__" in v.__dict__]
barrier = threading.Barrier(8)
errors = []
def work():
    barrier.wait()
    try:
        for cls in classes:
            names = [f.name for f in dataclasses.fields(cls)]
            assert cls(*names) == cls(*names)
    except BaseException as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(len(classes), errors)
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    count, errors = done.stdout.split(" ", 1)
    assert int(count) >= 10 and errors.strip() == "[]", done.stdout

