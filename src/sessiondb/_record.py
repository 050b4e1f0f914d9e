"""``@record``: a frozen, slotted dataclass that costs almost nothing at import.

``dataclasses.dataclass`` compiles six methods per class when its module is imported
(about 1 ms a class), and importing ``dataclasses`` pulls in ``inspect``, ``ast`` and
``dis``: together they were a third of the C ABI's first call (see
:mod:`sessiondb._startup`). A ``@record`` class is declared like
``@dataclass(frozen=True, slots=True)`` and behaves like one: keyword and positional
construction with the same defaults and ``__post_init__``, the dataclass's ``repr``,
equality and hash, ``__match_args__``, slots, ``FrozenInstanceError`` on assignment,
pickling and copying, and ``dataclasses.fields`` / ``asdict`` / ``replace`` /
``is_dataclass``. What differs is when the work is done: the shared methods are
compiled once into this module; a class's ``__init__`` is compiled when its first
instance is made; its ``Field`` objects come from ``dataclasses`` itself when first
asked for (``tests/test_record.py`` holds each record to its dataclass twin).

A field whose default is built per instance is written as with dataclasses,
``name: T = field(default_factory=T)`` (``field`` from here). Records don't inherit
from each other.
"""

from __future__ import annotations

import threading

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    T = TypeVar("T")
    C = TypeVar("C", bound=type)

_lock = threading.RLock()
_NO_DEFAULT = object()


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A field whose default is built per instance, as ``dataclasses.field(default_factory=...)``."""
    return _Factory(default_factory)  # type: ignore[return-value]  # replaced in __init__


# ---- the methods every record shares (compiled once, into this module's .pyc)
def _repr(self: Any) -> str:
    fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
    return f"{type(self).__qualname__}({fields})"


def _values(self: Any) -> tuple[Any, ...]:
    return tuple([getattr(self, name) for name in self.__slots__])


def _eq(self: Any, other: object) -> Any:
    if other.__class__ is self.__class__:
        return _values(self) == _values(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(_values(self))


def _frozen_setattr(self: Any, name: str, value: object) -> None:
    from dataclasses import FrozenInstanceError
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    from dataclasses import FrozenInstanceError
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return list(_values(self))


def _setstate(self: Any, state: list[Any]) -> None:
    for name, value in zip(self.__slots__, state):
        object.__setattr__(self, name, value)


# ---- made on first use
def _first_init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    with _lock:
        if cls.__dict__["__init__"] is _first_init:
            cls.__init__ = _make_init(cls)
    cls.__init__(self, *args, **kwargs)


def _make_init(cls: type) -> Callable[..., None]:
    """The class's own ``__init__``, as the dataclass would write it."""
    defaults: dict[str, Any] = cls.__dict__["__record_defaults__"]
    names: tuple[str, ...] = cls.__dict__["__slots__"]
    scope: dict[str, Any] = {"_set": object.__setattr__, "_NO_DEFAULT": _NO_DEFAULT}
    params, body = [], []
    for name in names:
        default = defaults.get(name, _NO_DEFAULT)
        if isinstance(default, _Factory):
            scope[f"_make_{name}"] = default.make
            params.append(f"{name}=_NO_DEFAULT")
            body.append(f"    _set(self, {name!r}, _make_{name}() if {name} is _NO_DEFAULT else {name})")
            continue
        if default is not _NO_DEFAULT:
            scope[f"_default_{name}"] = default
            params.append(f"{name}=_default_{name}")
        else:
            params.append(name)
        body.append(f"    _set(self, {name!r}, {name})")
    if "__post_init__" in cls.__dict__:
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(compile(source, f"<record {cls.__qualname__}>", "exec"), scope)
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


class _FieldsOnFirstUse:
    """``__dataclass_fields__``: made, by ``dataclasses`` itself, when first asked for."""

    def __init__(self, params: bool = False) -> None:
        self.params = params

    def __get__(self, instance: object, owner: type) -> Any:
        fields, params = _dataclass_fields(owner)
        return params if self.params else fields


def _dataclass_fields(cls: type) -> tuple[Any, Any]:
    """The Field objects and parameters of the equivalent dataclass (cached on ``cls``)."""
    with _lock:
        if isinstance(cls.__dict__["__dataclass_fields__"], _FieldsOnFirstUse):
            import dataclasses
            namespace: dict[str, Any] = {"__annotations__": cls.__annotations__, "__module__": cls.__module__,
                                         "__qualname__": cls.__qualname__}
            for name, default in cls.__dict__["__record_defaults__"].items():
                namespace[name] = (dataclasses.field(default_factory=default.make)
                                   if isinstance(default, _Factory) else default)
            twin: Any
            try:
                twin = dataclasses.dataclass(frozen=True)(type(cls.__name__, (), namespace))
            except AttributeError:
                # ``typing`` half-imported by another thread (dataclasses looks into it):
                # wait for that import to finish, then make it again.
                import typing  # noqa: F401
                twin = dataclasses.dataclass(frozen=True)(type(cls.__name__, (), dict(namespace)))
            type.__setattr__(cls, "__dataclass_fields__", twin.__dataclass_fields__)
            type.__setattr__(cls, "__dataclass_params__", twin.__dataclass_params__)
        return cls.__dict__["__dataclass_fields__"], cls.__dict__["__dataclass_params__"]


def _record(cls: C) -> C:
    namespace = dict(cls.__dict__)
    annotations: dict[str, str] = namespace.get("__annotations__", {})
    names = tuple(annotations)
    defaults = {name: namespace.pop(name) for name in names if name in namespace}
    for generated in ("__dict__", "__weakref__"):
        namespace.pop(generated, None)
    namespace.update(__slots__=names, __match_args__=names, __record_defaults__=defaults, __init__=_first_init,
                     __repr__=_repr, __eq__=_eq, __hash__=_hash, __setattr__=_frozen_setattr,
                     __delattr__=_frozen_delattr, __getstate__=_getstate, __setstate__=_setstate,
                     __dataclass_fields__=_FieldsOnFirstUse(), __dataclass_params__=_FieldsOnFirstUse(params=True))
    made = type(cls)(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


if TYPE_CHECKING:
    @dataclass_transform(frozen_default=True, field_specifiers=(field,))
    def record(cls: C) -> C: ...
else:
    record = _record

