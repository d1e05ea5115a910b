"""Per-process caches of small configuration tables read on every case write.

Categories, departments, SLA policies and the like change a few times a year but are read on
every case creation; loading them per request cost several queries and most of the time of a
create. A `ConfigCache` holds what a loader built from them:

- in this process it is dropped at once when one of its models is saved or deleted (signals),
  and again when that transaction commits;
- other processes (more web workers, the worker, other machines) reload it at most `ttl`
  seconds later, so an admin's change reaches every process within that time.

Loaders must return plain data or model instances that callers treat as read-only.
Tests clear every cache between tests (`clear_all`), since a rolled-back test transaction
sends no signal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")

# How stale another process's copy may get, in seconds.
DEFAULT_TTL = 2.0

_registry: list[ConfigCache[Any]] = []


class ConfigCache(Generic[T]):
    def __init__(
        self,
        name: str,
        loader: Callable[[], T],
        *,
        models: tuple[type[Model], ...] | tuple[str, ...],
        ttl: float = DEFAULT_TTL,
    ) -> None:
        self.name = name
        self.loader = loader
        self.models = models
        self.ttl = ttl
        self._value: T | None = None
        self._loaded_at = 0.0
        self._generation = 0
        self._lock = threading.Lock()
        self._connected = False
        _registry.append(self)

    def get(self) -> T:
        self._connect()
        now = time.monotonic()
        value = self._value
        if value is not None and now - self._loaded_at < self.ttl:
            return value
        with self._lock:
            generation = self._generation
        value = self.loader()
        with self._lock:
            # A change that arrived while loading wins: keep the value for this call only.
            if generation == self._generation:
                self._value = value
                self._loaded_at = now
        return value

    def clear(self) -> None:
        with self._lock:
            self._value = None
            self._generation += 1

    def _changed(self, **kwargs: Any) -> None:
        self.clear()
        transaction.on_commit(self.clear, robust=True)

    def _connect(self) -> None:
        if self._connected:
            return
        from django.apps import apps

        for model in self.models:
            cls = apps.get_model(model) if isinstance(model, str) else model
            uid = f"configcache:{self.name}:{cls._meta.label}"
            post_save.connect(self._changed, sender=cls, weak=False, dispatch_uid=uid + ":save")
            post_delete.connect(self._changed, sender=cls, weak=False, dispatch_uid=uid + ":del")
            for field in cls._meta.local_many_to_many:
                through = field.remote_field.through
                m2m_changed.connect(
                    self._changed, sender=through, weak=False, dispatch_uid=uid + ":m2m"
                )
        self._connected = True


def clear_all() -> None:
    """Drop every cached value (tests call this between tests)."""
    for cache in _registry:
        cache.clear()
