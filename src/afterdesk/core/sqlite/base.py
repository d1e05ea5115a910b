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

Checkpoints happen outside the write lock. SQLite's automatic checkpoint runs inside the
COMMIT that takes the write-ahead log past 1,000 pages, and copies the log into the database
(with an fsync) while that writer still holds the lock: one commit in ten took 5–25 ms instead
of 0.5 ms, and every other writer waited for it (opening a case writes about 70 pages). Here
the automatic checkpoint is off (`PRAGMA wal_autocheckpoint=0`); instead a writer, after its
COMMIT has released the lock, runs a PASSIVE checkpoint when its last one is more than
WAL_CHECKPOINT_SECONDS ago. A PASSIVE checkpoint neither waits for nor blocks writers and
readers (when another process is checkpointing it returns at once), and copies everything
committed so far. Every process that writes does this, whichever processes run.

A PASSIVE checkpoint never starts the log over, though: only a writer does, when everything
in the log has been copied. Under constant writing, another writer always adds frames while
the checkpoint copies, the log never catches up and grows without bound (1.3 GB after the
create benchmark at 100,000 cases). So once the log holds WAL_RESTART_FRAMES, the
checkpointing process takes the write lock, copies the rest (the PASSIVE checkpoints have
done most of it) and restarts the log (`wal_checkpoint(RESTART)`), waiting at most
WAL_RESTART_WAIT_MS for readers of older snapshots. If they are still there (a long read, such
as training the triage model over every closed case), it leaves the log alone for a while,
doubling the pause up to WAL_RESTART_BACKOFF_MAX_SECONDS, so that writers do not wait behind
a restart that cannot happen yet. `journal_size_limit` cuts the file back after a burst.

A checkpoint comes after the COMMIT, whose data is safe: one that fails (disk full, I/O
error) is logged and does not fail the request.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import time
from typing import Any

from django.db.backends.sqlite3 import base

logger = logging.getLogger(__name__)

# A writing process checkpoints after a commit when its last checkpoint is this old. A page
# written again and again (the end of an index) is copied once per checkpoint: opening 100
# cases wrote 6,100 pages to the log, 640 different ones; 400 cases 25,100 and 1,400.
WAL_CHECKPOINT_SECONDS = 1.0
# The write-ahead log file is cut back to this size when it is reset after a burst.
WAL_SIZE_LIMIT_BYTES = 256 * 1024 * 1024
# A checkpoint restarts the log (under the write lock) once it holds this many frames (of a
# page each: 128 MB at 4 KB pages, about a second of creating cases flat out), waiting this
# long at most for older readers.
WAL_RESTART_FRAMES = 32768
WAL_RESTART_WAIT_MS = 50
# After a restart that older readers prevented, the next try waits this long, doubling.
WAL_RESTART_BACKOFF_SECONDS = 1.0
WAL_RESTART_BACKOFF_MAX_SECONDS = 30.0


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_lock_fd: int | None = None
        self._write_lock_held = False
        self._checkpointed_at = 0.0
        self._busy_timeout_ms = 0
        self._restart_backoff = 0.0
        self._restart_not_before = 0.0

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

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if not self.is_in_memory_db():
            connection.execute("PRAGMA wal_autocheckpoint=0")
            connection.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
            self._busy_timeout_ms = connection.execute("PRAGMA busy_timeout").fetchone()[0]
        return connection

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_write_lock()
        self._checkpoint_if_due()

    def _checkpoint_if_due(self) -> None:
        """A PASSIVE checkpoint when this process's last one is WAL_CHECKPOINT_SECONDS old
        (outside the write lock, see the module docstring)."""
        if self.connection is None or self.is_in_memory_db():
            return
        now = time.monotonic()
        if now - self._checkpointed_at < WAL_CHECKPOINT_SECONDS:
            return
        self._checkpointed_at = now
        try:
            _busy, frames, _copied = self.connection.execute(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchone()
            if frames >= WAL_RESTART_FRAMES and now >= self._restart_not_before:
                self._after_restart(restarted=self._restart_log(), now=now)
        except sqlite3.Error:
            logger.warning("SQLite checkpoint failed (the commit before it stands)", exc_info=True)

    def _restart_log(self) -> bool:
        """Copy the rest of the log and start it over, with no writer adding to it meanwhile
        (see the module docstring). False when older readers kept it from restarting."""
        assert self.connection is not None
        self._acquire_write_lock()
        try:
            self.connection.execute(f"PRAGMA busy_timeout={WAL_RESTART_WAIT_MS}")
            try:
                busy, _frames, _copied = self.connection.execute(
                    "PRAGMA wal_checkpoint(RESTART)"
                ).fetchone()
            finally:
                self.connection.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        finally:
            self._release_write_lock()
        return not busy

    def _after_restart(self, *, restarted: bool, now: float) -> None:
        if restarted:
            self._restart_backoff = 0.0
            return
        self._restart_backoff = min(
            max(self._restart_backoff * 2, WAL_RESTART_BACKOFF_SECONDS),
            WAL_RESTART_BACKOFF_MAX_SECONDS,
        )
        self._restart_not_before = now + self._restart_backoff

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
