"""moto keeps every model object it ever made: the local cloud makes it keep them weakly.

moto's `BaseModel.__new__` appends each new instance to its class's `instances_tracked` list, for the moto
dashboard (`/moto-api/data.json`) and S3's reset, and nothing ever removes them. Every DynamoDB read copies
the items it returns (`copy.deepcopy` of an `Item` is a new `BaseModel`), so each GetItem, Query and Scan
answer stayed in memory for good: the main process grew by every item ever read (hundreds of MiB in a flash
sale, with the TTL sweeper's scans alone). AWS keeps nothing of an answer once it is sent.

`track_instances_weakly()` (idempotent, process-wide) replaces `BaseModel.__new__` with one that records each
instance by weak reference: the dashboard and S3's reset still see every instance that is alive, and an
instance nothing else holds (an answer's copy) is freed as soon as its answer is sent.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

from moto.core.common_models import BaseModel

_lock = threading.Lock()
_installed = False


class WeakInstances:
    """What `instances_tracked` holds: a list-like record of the live instances of a class, by weak reference."""

    def __init__(self, instances: Iterable[Any] = ()) -> None:
        self._refs: dict[int, weakref.ref[Any]] = {}
        self._lock = threading.Lock()
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        key = id(instance)

        def forget(ref: weakref.ref[Any], key: int = key) -> None:
            with self._lock:
                if self._refs.get(key) is ref:
                    del self._refs[key]

        try:
            ref = weakref.ref(instance, forget)
        except TypeError:
            return  # a class without __weakref__ (__slots__): not recorded rather than kept forever
        with self._lock:
            self._refs[key] = ref

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            refs = list(self._refs.values())
        for ref in refs:
            instance = ref()
            if instance is not None:
                yield instance

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _new(cls: type, *args: Any, **kwargs: Any) -> Any:
    instance: Any = object.__new__(cls)
    tracked = cls.__dict__.get("instances_tracked")
    if not isinstance(tracked, WeakInstances):
        # The metaclass gave the class a plain list (or moto's reset put a new one): replace it on the class.
        tracked = WeakInstances(tracked or ())
        cls.instances_tracked = tracked  # type: ignore[attr-defined]
    tracked.append(instance)
    return instance


def track_instances_weakly() -> None:
    """From now on, moto's model instances are recorded weakly (see the module docstring)."""
    global _installed
    with _lock:
        if not _installed:
            BaseModel.__new__ = _new  # type: ignore[method-assign]
            _installed = True
