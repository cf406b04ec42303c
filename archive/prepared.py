"""Queries compiled to SQL once per process and run many times with new values.

Building and compiling a QuerySet costs far more CPU than running it against an index: about 1.3 ms for a
part page's serial query, against 0.1 ms in the database. A reader's page runs the same few queries
with different values, so each is written once as a QuerySet (the definition stays in the querysets, as
always), compiled the first time it runs, and afterwards only executed, which is what SQLAlchemy's compiled
cache does and Django lacks.

A value that changes from one run to the next enters the QuerySet as a ``Param``: it compiles to a
placeholder, and each run binds the value, prepared for the database by the param's field exactly as a
literal would be. Anything else in the QuerySet is fixed at the first compile: a queryset method that
reads the clock must be given the time as a ``Param`` (``PreparedQuery`` refuses a compiled date or time).
"""

import contextlib
import datetime
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

from django.db import connections
from django.db.models import DateField, DateTimeField, Expression, Field, IntegerField, Lookup, QuerySet, Value
from django.db.models.base import ModelState
from django.db.models.signals import post_init
from django.db.models.sql import Query
from django.db.models.sql.where import WhereNode
from django.utils import timezone


class _Slot:
    """Where a param's value goes among a compiled query's parameters."""

    __slots__ = ("field", "name")

    def __init__(self, name: str, field: Field) -> None:
        self.name = name
        self.field = field


class Param(Expression):
    """A value bound each time a prepared query runs, in place of a literal compiled into its SQL."""

    def __init__(self, name: str, output_field: Field) -> None:
        super().__init__(output_field=output_field)
        self.name = name

    def __repr__(self) -> str:
        return f"Param({self.name!r})"

    def as_sql(self, compiler, connection):
        return "%s", [_Slot(self.name, self.output_field)]


class UnseenParam(Param):
    """A param whose value PostgreSQL's planner does not see, so that it keeps one generic plan.

    After five runs of a prepared statement PostgreSQL compares its generic plan's estimated cost with the
    average of the custom plans it made for each run's values, and keeps planning anew at every run (which
    can cost more than the run) while the generic plan looks dearer. A range condition on a param, such as
    ``published_at <= now``, is estimated from the value in a custom plan and with a default selectivity in
    the generic one, so a walk along an index that stops at a limit can look dearer generic than it is.
    Compiled on PostgreSQL as a one-row subquery, which the planner runs first (an InitPlan) and cannot see
    into, the value is estimated alike in every plan; the index still takes it as a condition. Elsewhere
    it is a plain param.
    """

    def as_postgresql(self, compiler, connection):
        sql, params = self.as_sql(compiler, connection)
        return f"(SELECT CAST({sql} AS {self.output_field.db_type(connection)}))", params


def now_param(*, unseen: bool = True) -> Param:
    """The moment a reading query's visibility rule is applied at (``clock_values`` binds it).

    Unseen by the planner (``UnseenParam``) for a query that walks an index to a limit, whose generic plan
    PostgreSQL would otherwise refuse; ``unseen=False`` for a lookup whose plans agree anyway (the subquery
    costs a little at each run) and for a query planned for its values at each run (``planned_each_time``),
    whose plan must see the clock.
    """
    return (UnseenParam if unseen else Param)("now", DateTimeField())


def today_param(*, unseen: bool = True) -> Param:
    """The local date of ``now_param``: consent reviews and campaign dates lapse with it."""
    return (UnseenParam if unseen else Param)("today", DateField())


def clock_values() -> dict:
    """The values of ``now_param`` and ``today_param`` for a run: this moment and its local date."""
    now = timezone.now()
    return {"now": now, "today": timezone.localdate(now)}


def _literals(node) -> Iterable:
    """Every literal value in a query: its conditions and annotations, and those of its subqueries."""
    if isinstance(node, Query):
        yield from _literals(node.where)
        for annotation in node.annotations.values():
            yield from _literals(annotation)
    elif isinstance(node, Lookup):
        yield from _literals(node.lhs)
        if hasattr(node.rhs, "resolve_expression"):
            yield from _literals(node.rhs)
        elif isinstance(node.rhs, list | tuple | set):
            yield from node.rhs
        else:
            yield node.rhs
    elif isinstance(node, Value):
        yield node.value
    elif isinstance(getattr(node, "query", None), Query):
        yield from _literals(node.query)
    elif isinstance(node, WhereNode):
        for child in node.children:
            yield from _literals(child)
    elif hasattr(node, "get_source_expressions"):
        for expression in node.get_source_expressions():
            yield from _literals(expression)


class _Compiled:
    __slots__ = ("converters", "names", "params", "sql")

    def __init__(self, queryset: QuerySet, using: str, paged: bool = False) -> None:
        query = queryset.query
        if not queryset._fields and not query.values_select:
            raise TypeError("A prepared query returns rows of values: end it with .values(...).")
        if paged and (query.low_mark or query.high_mark is not None):
            raise TypeError("A paged prepared query takes its limit and offset at each run: do not slice it.")
        for value in _literals(query):
            if isinstance(value, datetime.date):
                raise TypeError(f"A prepared query would compile the date or time {value!r}; pass it as a Param.")
        compiler = query.get_compiler(using)
        self.sql, params = compiler.as_sql()
        self.params = tuple(params)
        if paged:
            # Both are bound at each run, so every page of a list runs one compiled statement.
            self.sql += " LIMIT %s OFFSET %s"
            self.params += (_Slot("limit", IntegerField()), _Slot("offset", IntegerField()))
        # The names of the columns as the SQL selects them (modeltranslation's values() reorders them).
        self.names = tuple(alias for _expression, _sql, alias in compiler.select)
        if None in self.names:
            raise TypeError("A prepared query names every column it selects: end it with .values(...).")
        # (position, converters, expression) of each column the backend or the field converts on the way out.
        self.converters = [
            (position, functions, expression)
            for position, (functions, expression) in compiler.get_converters(
                [column[0] for column in compiler.select]
            ).items()
        ]

    def bind(self, params: dict[str, Any], connection) -> list:
        """The statement's parameters for a run: each param's value prepared by its field, the rest as compiled."""
        return [
            value.field.get_db_prep_value(params[value.name], connection, prepared=False)
            if isinstance(value, _Slot)
            else value
            for value in self.params
        ]

    def rows(self, fetched: list[tuple], connection) -> list[dict]:
        """The rows as dicts keyed by column name, each value converted as the ORM would."""
        names = self.names
        if not self.converters:
            return [dict(zip(names, row, strict=True)) for row in fetched]
        found = []
        for row in fetched:
            row = list(row)
            for position, functions, expression in self.converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
            found.append(dict(zip(names, row, strict=True)))
        return found


class PreparedQuery:
    """A ``.values()`` QuerySet, built by ``build(**shape)`` and compiled once for each shape and database.

    ``shape`` holds what changes the SQL itself (for example the reading language, which picks columns);
    ``params`` the values bound at each run. Returns a list of dicts, one a row, keyed as ``.values()`` is.
    ``paged``: the QuerySet is not sliced, and each run takes ``limit`` and ``offset`` among its params (one
    compiled statement for every page of a list, where slicing would compile one for each page number).
    """

    def __init__(self, build: Callable[..., QuerySet], *, paged: bool = False) -> None:
        self.build = build
        self.paged = paged
        self._compiled: dict[Hashable, _Compiled] = {}

    def run(self, *, using: str = "default", shape: dict[str, Hashable] | None = None, **params: Any) -> "Run":
        """This query with the values of one run bound, to be sent alone (``Run.rows``) or with others
        (``run_together``)."""
        connection = connections[using]
        shape = shape or {}
        key = (using, connection.vendor, *sorted(shape.items()))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(self.build(**shape), using, self.paged)
        return Run(compiled, connection, compiled.bind(params, connection))

    def __call__(self, *, using: str = "default", shape: dict[str, Hashable] | None = None, **params: Any) -> list:
        return self.run(using=using, shape=shape, **params).rows()


class Run:
    """A prepared query's statement and the values of one run."""

    __slots__ = ("compiled", "connection", "values")

    def __init__(self, compiled: _Compiled, connection, values: list) -> None:
        self.compiled = compiled
        self.connection = connection
        self.values = values

    def rows(self) -> list[dict]:
        with self.connection.cursor() as cursor:
            cursor.execute(self.compiled.sql, self.values)
            return self.compiled.rows(cursor.fetchall(), self.connection)


def run_together(*runs: Run | None) -> list[list[dict] | None]:
    """The rows of each run, in order, from one round trip to the database (``None`` for a ``None``).

    For the queries of a page that do not need each other's rows. On PostgreSQL they are sent in psycopg's
    pipeline mode, every statement and then one sync, so the page waits for the database once rather than
    once a query; elsewhere (SQLite answers in the process) they run one after the other. Each is still a
    query of its own to Django: counted, logged and seen by execute wrappers as any other.
    """
    sent = [run for run in runs if run is not None]
    connections_used = {id(run.connection) for run in sent}
    if len(connections_used) > 1:
        raise ValueError("Runs sent together go to one database.")
    if len(sent) < 2 or sent[0].connection.vendor != "postgresql":
        return [None if run is None else run.rows() for run in runs]
    connection = sent[0].connection
    cursors = [connection.cursor() for _run in sent]
    try:
        with connection.wrap_database_errors:
            with connection.connection.pipeline():
                for cursor, run in zip(cursors, sent, strict=True):
                    cursor.execute(run.compiled.sql, run.values)
            fetched = iter(
                [run.compiled.rows(cursor.fetchall(), connection) for cursor, run in zip(cursors, sent, strict=True)]
            )
    finally:
        for cursor in cursors:
            cursor.close()
    return [None if run is None else next(fetched) for run in runs]


def loaded(model: type, values: dict, using: str = "default"):
    """An instance of the model holding the values of a prepared row, as ``Model.from_db`` builds one.

    Fields left out are deferred, as with ``.only()``: reading one costs a query, which the pages'
    query-count tests catch. ``post_init`` is sent as ``Model.__init__`` sends it: the page cache
    learns from it which objects a page shows (``stories.caching``).
    """
    instance = model.__new__(model)
    instance.__dict__.update(values)
    state = instance._state = ModelState()
    state.adding = False
    state.db = using
    post_init.send(sender=model, instance=instance)
    return instance


@contextlib.contextmanager
def planned_each_time(using: str = "default") -> Iterator[None]:
    """Statements run inside are never prepared on the server: PostgreSQL plans each for its own values.

    For the rare query whose best plan depends on values a generic plan cannot see (docs/deployment.md,
    "Prepared statements on PostgreSQL"). Elsewhere, and with prepared statements off, it changes nothing.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    driver = connection.connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold
