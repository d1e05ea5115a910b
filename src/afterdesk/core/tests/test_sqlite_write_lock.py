"""The SQLite backend orders writers with a file lock that wakes the next one on release."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from afterdesk.core.sqlite.base import DatabaseWrapper

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(autouse=True)
def _own_databases(django_db_blocker: Any) -> Any:
    """These tests open their own database files, outside the test database."""
    with django_db_blocker.unblock():
        yield


def _wrapper(path: Path, alias: str) -> DatabaseWrapper:
    settings = {**connection.settings_dict, "NAME": str(path), "TEST": {}}
    wrapper = DatabaseWrapper(settings, alias=alias)
    wrapper.ensure_connection()
    return wrapper


def _lock_is_taken(path: Path) -> bool:
    fd = os.open(f"{path}.writelock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _second_writer(path: Path, began: threading.Event, result: dict[str, Any]) -> None:
    other = _wrapper(path, "second")
    try:
        other._start_transaction_under_autocommit()
        result["began_at"] = time.monotonic()
        began.set()
        other.cursor().execute("INSERT INTO t VALUES (2)")
        other._commit()
    except Exception as exc:  # reported to the test thread
        result["error"] = exc
        began.set()
    finally:
        other.close()


def test_a_second_writer_waits_for_the_first_and_starts_when_it_commits(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    first = _wrapper(path, "first")
    first.cursor().execute("CREATE TABLE t (v INTEGER)")
    first._start_transaction_under_autocommit()
    first.cursor().execute("INSERT INTO t VALUES (1)")
    assert _lock_is_taken(path)

    began = threading.Event()
    result: dict[str, Any] = {}
    thread = threading.Thread(target=_second_writer, args=(path, began, result))
    thread.start()
    assert not began.wait(0.3), "the second writer began while the first held the lock"

    committed_at = time.monotonic()
    first._commit()
    assert began.wait(5)
    thread.join(5)
    assert "error" not in result, result.get("error")
    # Woken by the release, not by a polling sleep.
    assert result["began_at"] - committed_at < 0.05
    rows = first.cursor().execute("SELECT v FROM t ORDER BY v").fetchall()
    assert rows == [(1,), (2,)]
    assert not _lock_is_taken(path)
    first.close()


def test_rollback_and_close_release_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    first = _wrapper(path, "first")
    first.cursor().execute("CREATE TABLE t (v INTEGER)")
    first._start_transaction_under_autocommit()
    assert _lock_is_taken(path)
    first._rollback()
    assert not _lock_is_taken(path)

    first._start_transaction_under_autocommit()
    first.close()
    assert not first._write_lock_held

    began = threading.Event()
    result: dict[str, Any] = {}
    thread = threading.Thread(target=_second_writer, args=(path, began, result))
    thread.start()
    assert began.wait(2), "the lock was still held after rollback and close"
    thread.join(5)
    assert "error" not in result, result.get("error")


def test_an_in_memory_database_has_no_lock_file() -> None:
    wrapper = DatabaseWrapper(
        {**connection.settings_dict, "NAME": ":memory:", "TEST": {}}, alias="memory"
    )
    assert wrapper._lock_path() is None


def _wal_frames(wrapper: DatabaseWrapper) -> tuple[int, int]:
    """(frames in the write-ahead log, frames of it already copied into the database)."""
    _busy, log, done = wrapper.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return log, done


def test_commits_do_not_checkpoint_inside_the_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "db.sqlite3"
    writer = _wrapper(path, "writer")
    cursor = writer.cursor()
    assert cursor.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    # SQLite's own checkpoint (inside COMMIT, under the lock) is off.
    assert cursor.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    cursor.execute("CREATE TABLE t (v BLOB)")

    seen: list[bool] = []
    checkpoint = DatabaseWrapper._checkpoint_if_due

    def spy(self: DatabaseWrapper) -> None:
        seen.append(_lock_is_taken(path))
        checkpoint(self)

    monkeypatch.setattr(DatabaseWrapper, "_checkpoint_if_due", spy)
    # 2,000 pages: past the 1,000 at which SQLite would checkpoint by itself.
    for i in range(20):
        writer._start_transaction_under_autocommit()
        writer.cursor().execute("INSERT INTO t VALUES (randomblob(400000))")
        writer._commit()
        if i == 0:
            writer._checkpointed_at = time.monotonic()  # the next commits are not due
    log, done = _wal_frames(writer)  # (this checkpoint copies what the log holds)
    assert log > 1000 and done == log, "SQLite checkpointed inside a commit"
    assert seen and not any(seen), "a checkpoint ran while the write lock was held"
    writer.close()


def test_a_commit_checkpoints_when_the_last_checkpoint_is_old(tmp_path: Path) -> None:
    """The database file grows only when a checkpoint copies the log into it."""
    path = tmp_path / "db.sqlite3"
    writer = _wrapper(path, "writer")
    writer.cursor().execute("CREATE TABLE t (v BLOB)")
    writer._checkpointed_at = 0.0
    writer._start_transaction_under_autocommit()
    writer.cursor().execute("SELECT 1")
    writer._commit()  # due: the table's creation is copied in
    before = path.stat().st_size

    writer._start_transaction_under_autocommit()
    writer.cursor().execute("INSERT INTO t VALUES (randomblob(200000))")
    writer._commit()  # not due (just checkpointed): the rows stay in the log
    assert path.stat().st_size == before

    writer._checkpointed_at -= 1
    writer._start_transaction_under_autocommit()
    writer.cursor().execute("INSERT INTO t VALUES (randomblob(200000))")
    writer._commit()  # due: both rows are copied into the database file
    assert path.stat().st_size > before + 400_000
    writer.close()


def test_a_long_log_is_started_over_under_the_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PASSIVE checkpoints never restart the log; past WAL_RESTART_FRAMES a checkpoint takes
    the write lock and restarts it, so the file stops growing under constant writing."""
    from afterdesk.core.sqlite import base as sqlite_base

    monkeypatch.setattr(sqlite_base, "WAL_RESTART_FRAMES", 200)
    path = tmp_path / "db.sqlite3"
    writer = _wrapper(path, "writer")
    writer.cursor().execute("CREATE TABLE t (v BLOB)")
    locked: list[bool] = []
    restart = DatabaseWrapper._restart_log

    def spy(self: DatabaseWrapper) -> bool:
        restarted = restart(self)
        locked.append(_lock_is_taken(path))
        assert restarted
        return restarted

    monkeypatch.setattr(DatabaseWrapper, "_restart_log", spy)
    sizes = []
    for i in range(30):
        # Every third commit is due: its checkpoint finds ~300 frames in the log.
        writer._checkpointed_at = 0.0 if i % 3 == 2 else time.monotonic()
        writer._start_transaction_under_autocommit()
        writer.cursor().execute("INSERT INTO t VALUES (randomblob(400000))")  # ~100 pages
        writer._commit()
        sizes.append(Path(f"{path}-wal").stat().st_size)
    assert locked and not any(locked), "the write lock was not given back"
    assert len(locked) == 10
    # Without restarts the log would hold all 30 transactions (12 MB).
    assert max(sizes) < 4 * 400_000, sizes
    # The next transaction writes from the start of the log.
    writer._checkpointed_at = time.monotonic()
    writer._start_transaction_under_autocommit()
    writer.cursor().execute("INSERT INTO t VALUES (randomblob(400000))")
    writer._commit()
    frames = writer.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    assert frames < 200
    assert writer.cursor().execute("SELECT count(*) FROM t").fetchone() == (31,)
    writer.close()


def test_a_restart_waits_only_briefly_for_an_older_reader_and_then_backs_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader holding an old snapshot keeps the log from restarting: the writer waits at
    most WAL_RESTART_WAIT_MS, gives the lock back, and leaves the log alone for a while
    (doubling) instead of waiting again at every commit."""
    from afterdesk.core.sqlite import base as sqlite_base

    monkeypatch.setattr(sqlite_base, "WAL_RESTART_FRAMES", 10)
    path = tmp_path / "db.sqlite3"
    writer = _wrapper(path, "writer")
    writer.cursor().execute("CREATE TABLE t (v BLOB)")
    writer.cursor().execute("INSERT INTO t VALUES (randomblob(100000))")
    reader = _wrapper(path, "reader")
    reader_cursor = reader.connection.cursor()
    reader_cursor.execute("BEGIN")
    reader_cursor.execute("SELECT count(*) FROM t").fetchone()  # holds its snapshot
    tries: list[bool] = []
    restart = DatabaseWrapper._restart_log

    def spy(self: DatabaseWrapper) -> bool:
        tries.append(restart(self))
        return tries[-1]

    monkeypatch.setattr(DatabaseWrapper, "_restart_log", spy)

    def commit_due() -> float:
        writer._checkpointed_at = 0.0
        writer._start_transaction_under_autocommit()
        writer.cursor().execute("INSERT INTO t VALUES (randomblob(100000))")
        started = time.monotonic()
        writer._commit()
        return time.monotonic() - started

    assert commit_due() < 1.0
    assert tries == [False]
    assert not _lock_is_taken(path)
    assert writer.cursor().execute("PRAGMA busy_timeout").fetchone()[0] > 1000
    first_pause = writer._restart_backoff
    assert first_pause == sqlite_base.WAL_RESTART_BACKOFF_SECONDS
    commit_due()
    assert tries == [False], "tried again within the pause"

    writer._restart_not_before = 0.0  # the pause is over; the reader is still there
    commit_due()
    assert tries == [False, False] and writer._restart_backoff == 2 * first_pause

    reader_cursor.execute("COMMIT")
    reader.close()
    writer._restart_not_before = 0.0
    commit_due()
    assert tries == [False, False, True] and writer._restart_backoff == 0.0
    writer.close()


def test_a_failing_checkpoint_does_not_fail_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The COMMIT has made the data safe; a checkpoint error after it is logged only."""
    path = tmp_path / "db.sqlite3"
    writer = _wrapper(path, "writer")
    writer.cursor().execute("CREATE TABLE t (v INTEGER)")

    class FailingCheckpoints:
        def __init__(self, connection: Any) -> None:
            self._connection = connection

        def execute(self, sql: str, *args: Any) -> Any:
            if "wal_checkpoint" in sql:
                raise sqlite3.OperationalError("disk I/O error")
            return self._connection.execute(sql, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._connection, name)

    writer._start_transaction_under_autocommit()
    writer.cursor().execute("INSERT INTO t VALUES (1)")
    real = writer.connection
    writer._checkpointed_at = 0.0
    monkeypatch.setattr(writer, "connection", FailingCheckpoints(real))
    writer._commit()
    monkeypatch.setattr(writer, "connection", real)
    assert "SQLite checkpoint failed" in caplog.text
    assert not _lock_is_taken(path)
    assert writer.cursor().execute("SELECT count(*) FROM t").fetchone() == (1,)
    writer.close()
