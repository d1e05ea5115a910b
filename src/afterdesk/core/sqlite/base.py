"""SQLite with a fair, wake-on-release write lock between processes.

SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps and
polls with growing pauses (up to 100 ms). With several web processes and the worker writing at
once, most of the waiting was those sleeps, not the lock: the database sat idle while writers
slept. Here every transaction (Django's `atomic`, which on SQLite starts with
BEGIN IMMEDIATE) first takes an exclusive `flock` on a file next to the database and gives it
back at COMMIT or ROLLBACK; the kernel wakes the next waiter the moment it is released.

Readers never take it (WAL lets them read during a write). Statements outside a transaction
still rely on SQLite's own lock, which stays the ground truth; this only orders the writers.
The lock dies with its process, so a crashed writer never leaves it held. In-memory databases
(the test suite's default) have no file and no lock.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_lock_fd: int | None = None
        self._write_lock_held = False

    def _lock_path(self) -> str | None:
        if self.is_in_memory_db():
            return None
        return f"{self.settings_dict['NAME']}.writelock"

    def _acquire_write_lock(self) -> None:
        path = self._lock_path()
        if path is None or self._write_lock_held:
            return
        if self._write_lock_fd is None:
            self._write_lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._write_lock_fd, fcntl.LOCK_EX)
        self._write_lock_held = True

    def _release_write_lock(self) -> None:
        if self._write_lock_held and self._write_lock_fd is not None:
            fcntl.flock(self._write_lock_fd, fcntl.LOCK_UN)
        self._write_lock_held = False

    def _start_transaction_under_autocommit(self) -> None:
        self._acquire_write_lock()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_write_lock()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._release_write_lock()
            if self._write_lock_fd is not None:
                os.close(self._write_lock_fd)
                self._write_lock_fd = None
