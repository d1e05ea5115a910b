"""Statements compiled once per process, for the few paths that run on every request.

Django's ORM compiles each query anew. On the reference 2-core machine a one-row `get()` costs
0.5–1 ms of CPU, of which SQLite needs 0.05 ms; opening a case ran a dozen such statements,
and compiling them was the largest part of the request. The hot paths (token authentication,
customer look-up, the inserts of case creation) use these helpers instead, with SQL written
out by hand next to the code that needs it.

The helpers keep the ORM's semantics for the rows they touch:

- `insert` runs each field's `pre_save` (defaults, `auto_now`) and `get_db_prep_save`, writes all
  objects in one INSERT … RETURNING and sets their primary keys and `_state` like `save()`;
- `Columns` selects a model's concrete columns under a table alias and builds instances with the
  backend's and the fields' converters and `Model.from_db`, as a queryset would.

No signals are sent: use them only for models nobody listens to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, Generic, TypeVar, cast

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX
from django.db.models import DateField, Field, JSONField, Model

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, Any], Any]


def _quote(name: str, using: str) -> str:
    return connections[using].ops.quote_name(name)


_TEXT_TYPES = frozenset({"CharField", "TextField", "EmailField", "SlugField", "URLField"})
_INTEGER_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)


@dataclass(frozen=True)
class _Column:
    """How one field's value goes into an INSERT.

    `plain`: the Python types whose value the field's own preparation would pass through
    unchanged (a str for a text field, …); those skip it. `fast`: for one more common type, the
    same preparation written out (an aware datetime on SQLite, a dict for a JSON field);
    it returns _SLOW for anything else. Anything else, and every field with a `pre_save` of its
    own (auto_now, …), takes Django's path.
    """

    field: Field[Any, Any]
    attname: str
    own_pre_save: bool
    plain: tuple[type, ...]
    fast: Callable[[Any], Any] | None = None


_SLOW = object()


def _own_pre_save(field: Field[Any, Any]) -> bool:
    if isinstance(field, DateField):  # its pre_save only differs with auto_now(_add)
        return bool(field.auto_now or field.auto_now_add)
    return type(field).pre_save is not Field.pre_save


def _fast_preparation(field: Field[Any, Any], using: str) -> Callable[[Any], Any] | None:
    """Django's `get_db_prep_save` for the common value of a few field types, without its
    layers of calls (each an attribute look-up on the lazy settings)."""
    connection = connections[using]
    ops = connection.ops
    if type(field).__name__ == "DateTimeField" and connection.vendor == "sqlite":
        if not settings.USE_TZ:
            return None
        zone = connection.timezone

        def aware_datetime(value: Any) -> Any:
            # DateTimeField.get_prep_value passes an aware datetime through; SQLite's
            # adapt_datetimefield_value makes it naive in the connection's zone, as text.
            if type(value) is datetime and value.tzinfo is not None:
                return str(value.astimezone(zone).replace(tzinfo=None))
            return _SLOW

        return aware_datetime
    json_untouched = type(ops).adapt_json_value is BaseDatabaseOperations.adapt_json_value
    if type(field) is JSONField and json_untouched:
        encoder = field.encoder

        def json_document(value: Any) -> Any:
            if type(value) in (dict, list):
                return json.dumps(value, cls=encoder)
            return _SLOW

        return json_document
    return None


def _plain_types(field: Field[Any, Any], using: str) -> tuple[type, ...]:
    target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
    kind = target.get_internal_type()
    ops = connections[using].ops
    if kind in _TEXT_TYPES and not field.is_relation:
        return (str, type(None))
    if kind == "BooleanField":
        return (bool, type(None))
    integers_untouched = (
        type(ops).adapt_integerfield_value is BaseDatabaseOperations.adapt_integerfield_value
    )
    if kind in _INTEGER_TYPES and integers_untouched:
        return (int, type(None))
    return ()


@cache
def _insert_plan(model: type[Model], using: str) -> tuple[tuple[_Column, ...], str, str, str]:
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [f for f in meta.concrete_fields if not (f.primary_key and f.auto_created)]
    columns = tuple(
        _Column(
            field=f,
            attname=f.attname,
            own_pre_save=_own_pre_save(f),
            plain=_plain_types(f, using),
            fast=_fast_preparation(f, using),
        )
        for f in fields
    )
    head = "INSERT INTO {} ({}) VALUES ".format(  # noqa: S608 - names from the model
        _quote(meta.db_table, using), ", ".join(_quote(f.column, using) for f in fields)
    )
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return columns, head, row, f" RETURNING {_quote(pk.column, using)}"


def insert(objs: Sequence[M], *, using: str = "default") -> Sequence[M]:
    """INSERT `objs` (all of one model, new) in one statement; sets their primary keys."""
    if not objs:
        return objs
    model = type(objs[0])
    columns, head, row, returning = _insert_plan(model, using)
    connection = connections[using]
    params: list[Any] = []
    for obj in objs:
        for column in columns:
            field = column.field
            value = (
                field.pre_save(obj, True) if column.own_pre_save else getattr(obj, column.attname)
            )
            if type(value) not in column.plain:
                prepared = column.fast(value) if column.fast is not None else _SLOW
                value = field.get_db_prep_save(value, connection) if prepared is _SLOW else prepared
            params.append(value)
    rows = fetch(head + ", ".join([row] * len(objs)) + returning, params, using=using)
    ids = [r[0] for r in rows]
    pk_attname = model._meta.pk.attname  # type: ignore[union-attr]
    for obj, pk in zip(objs, ids, strict=True):
        setattr(obj, pk_attname, pk)
        obj._state.adding = False
        obj._state.db = using
    return objs


class Columns(Generic[M]):
    """A model's concrete columns under a table alias, and the instance built from them."""

    def __init__(self, model: type[M], alias: str, *, using: str = "default") -> None:
        connection = connections[using]
        self.model = model
        self.using = using
        fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in fields]
        self.sql = ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in fields)
        self.width = len(fields)
        self._converters: list[tuple[int, list[Converter], Any]] = []
        for i, f in enumerate(fields):
            expression = f.get_col(alias)
            converters = connection.ops.get_db_converters(
                expression
            ) + expression.get_db_converters(connection)
            if converters:
                self._converters.append((i, converters, expression))

    def build(self, row: Sequence[Any], start: int = 0) -> M:
        values = list(row[start : start + self.width])
        connection = connections[self.using]
        for i, converters, expression in self._converters:
            value = values[i]
            for convert in converters:
                value = convert(value, expression, connection)
            values[i] = value
        return cast(M, self.model.from_db(self.using, self.attnames, values))


@cache
def columns(model: type[M], alias: str, using: str = "default") -> Columns[M]:
    """The (cached) `Columns` of `model` under `alias`."""
    return Columns(model, alias, using=using)


def select(
    model: type[M], alias: str, rest: str, params: Sequence[Any], *, using: str = "default"
) -> list[M]:
    """`SELECT <the model's columns under alias> <rest>`, each row built as a `model`."""
    model_columns = columns(model, alias, using)
    rows = fetch(f"SELECT {model_columns.sql} {rest}", params, using=using)
    return [model_columns.build(row) for row in rows]


@lru_cache(maxsize=1024)
def _qmark(sql: str) -> str:
    """`sql` in sqlite3's parameter style, as Django's SQLite cursor converts it."""
    return FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")


def _direct(connection: BaseDatabaseWrapper) -> bool:
    """May a statement go straight to the sqlite3 connection? Django's cursor wrapper costs
    more than SQLite's work for a one-row statement (it rewrites the parameter style with a
    regular expression on every call). Not when queries are being logged or wrapped (DEBUG,
    the test suite's query counting), which only Django's cursor does."""
    return (
        connection.vendor == "sqlite"
        and not connection.queries_logged
        and not connection.execute_wrappers
    )


def _run(connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any], *, rows: bool) -> Any:
    """`sql` run on the sqlite3 connection itself, with Django's checks and error mapping:
    its rows (`rows`) or the number of rows it changed."""
    connection.ensure_connection()
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors:
        cursor = connection.connection.execute(_qmark(sql), params)
        return cursor.fetchall() if rows else cursor.rowcount


def fetch(sql: str, params: Sequence[Any], *, using: str = "default") -> list[tuple[Any, ...]]:
    connection = connections[using]
    if _direct(connection):
        return list(_run(connection, sql, params, rows=True))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def execute(sql: str, params: Sequence[Any], *, using: str = "default") -> int:
    """Run a write; the number of rows it changed."""
    connection = connections[using]
    if _direct(connection):
        return int(_run(connection, sql, params, rows=False))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def table(model: type[Model], using: str = "default") -> str:
    return _quote(model._meta.db_table, using)
