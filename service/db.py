"""The Neo4j driver, the unit of work its sessions belong to, and the helpers that run named statements.

Nothing here knows about HTTP: the HTTP edge (service/web) begins a unit of work per request, hands it
the client's bookmarks and, under an Idempotency-Key, the record the request's first write joins; the
analytics worker and the command line run without one."""

from __future__ import annotations

import logging
import random
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Iterator, Mapping, Protocol, TypeVar

import neo4j
import neo4j.time
from neo4j import GraphDatabase, ManagedTransaction
from neo4j.exceptions import DriverError, Neo4jError

import graph_queries
from service.metrics import QUERY_SECONDS, TRANSACTION_SECONDS

log = logging.getLogger(__name__)
T = TypeVar("T")
EXTENSION = "netweave.graph"


_MASKED_RETRIES = 5


class Joinable(Protocol):
    """An Idempotency-Key record: the first write of its unit stores the response in the same transaction."""

    response: Any

    def finish(self, tx: ManagedTransaction, result: Any) -> None: ...


@dataclass
class Unit:
    """One unit of work's causal state: the bookmarks its next session starts after (the client's, then its
    own writes'), whether it wrote, and the Idempotency-Key record its first write joins (None without)."""

    bookmarks: neo4j.Bookmarks | None = None
    wrote: bool = False
    idempotency: Joinable | None = None


# Context-local, so work handed to another thread (the analytics thread, a lease's renewals) never sees a
# request's unit unless `carrying` hands it the bookmarks, and never joins its Idempotency-Key record.
_unit: ContextVar[Unit | None] = ContextVar("netweave_unit", default=None)


def begin_unit(bookmarks: neo4j.Bookmarks | None = None) -> Unit:
    """Start a unit of work in this context (the HTTP edge does at each request); it replaces any before."""
    unit = Unit(bookmarks=bookmarks)
    _unit.set(unit)
    return unit


def end_unit() -> None:
    _unit.set(None)


def current_unit() -> Unit | None:
    return _unit.get()


def current_bookmarks() -> neo4j.Bookmarks | None:
    """What this unit's next session starts after (None outside one)."""
    unit = _unit.get()
    return unit.bookmarks if unit is not None else None


def advance_bookmarks(marks: neo4j.Bookmarks) -> None:
    """Record the bookmarks after a write of this unit (they supersede the ones it started with)."""
    unit = _unit.get()
    if unit is not None and marks.raw_values:
        unit.bookmarks, unit.wrote = marks, True


def carrying(work: Callable[[], T]) -> Callable[[], T]:
    """`work`, made to start its sessions after this unit's bookmarks on whichever thread runs it (in a unit
    of its own, which joins no Idempotency-Key record)."""
    marks = current_bookmarks()

    def run() -> T:
        token = _unit.set(Unit(bookmarks=marks))
        try:
            return work()
        finally:
            _unit.reset(token)

    return run


@contextmanager
def joining(record: Joinable) -> Iterator[None]:
    """Within the block, the first write() of this unit stores `record`'s response in its own transaction."""
    unit = _unit.get()
    if unit is None:
        unit = begin_unit()
    unit.idempotency = record
    try:
        yield
    finally:
        unit.idempotency = None


def _transient_cause(error: BaseException) -> BaseException | None:
    """The retryable driver or server error in `error`'s chain of causes, if any."""
    seen = error.__cause__ or error.__context__
    while seen is not None:
        if isinstance(seen, (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError)) and seen.is_retryable():
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def run(tx: ManagedTransaction, name: str, /, **params: Any) -> list[dict[str, Any]]:
    """Run the named statement and return its rows as plain Python values."""
    started = time.perf_counter()
    result = tx.run(graph_queries.get(name).text, params)
    rows = [to_native(record.data()) for record in result]
    QUERY_SECONDS.labels(name).observe(time.perf_counter() - started)
    return rows


def run_plain(tx: ManagedTransaction, name: str, /, **params: Any) -> list[dict[str, Any]]:
    """As run(), for statements that return only strings, numbers, booleans, lists and maps: no walk
    through every value looking for nodes or temporal values (a hot read path's saving)."""
    started = time.perf_counter()
    result = tx.run(graph_queries.get(name).text, params)
    keys = result.keys()
    rows = [dict(zip(keys, values)) for values in result.values()]
    QUERY_SECONDS.labels(name).observe(time.perf_counter() - started)
    return rows


def run_one(tx: ManagedTransaction, name: str, /, **params: Any) -> dict[str, Any] | None:
    rows = run(tx, name, **params)
    return rows[0] if rows else None


def run_scalars(tx: ManagedTransaction, name: str, /, **params: Any) -> Any:
    """Run the named statement, which answers one row of one value made of lists and scalars only (no
    dates, nodes or maps), and return that value as the driver decoded it: no per-item conversion, which
    costs more than the statement for a thousand-row answer."""
    started = time.perf_counter()
    record = tx.run(graph_queries.get(name).text, params).single(strict=True)
    QUERY_SECONDS.labels(name).observe(time.perf_counter() - started)
    return record[0]


def to_native(value: Any) -> Any:
    """neo4j.time values as datetime/date, recursively through maps and lists."""
    if isinstance(value, neo4j.time.DateTime):
        return value.to_native()
    if isinstance(value, neo4j.time.Date):
        return value.to_native()
    if isinstance(value, dict):
        return {key: to_native(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_native(item) for item in value]
    return value


def to_cypher(value: Any) -> Any:
    """Python dates as Neo4j dates (datetime stays datetime), recursively."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return neo4j.time.Date.from_native(value)
    if isinstance(value, dict):
        return {key: to_cypher(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_cypher(item) for item in value]
    return value


class Graph:
    """One driver per process, with read and write transactions on the configured database."""

    def __init__(self, driver: neo4j.Driver, database: str, query_timeout: float | None = None,
                 config: Mapping[str, Any] | None = None):
        from service.config import DEFAULTS

        self.driver = driver
        self.database = database
        # The process's settings (service/config.py), read by the repositories; the defaults without any.
        self.config: Mapping[str, Any] = config if config is not None else DEFAULTS
        # Objects that live as long as the driver: the analytics engine of this process, caches.
        self.extensions: dict[str, Any] = {}
        # Neo4j itself ends a transaction running longer than this (and the request answers 503).
        self.query_timeout = query_timeout
        self._bootstrapped = False
        self._bootstrap_lock = threading.Lock()
        self.bootstrap_steps: list[Callable[[Graph], None]] = []

    def read(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self.ensure_bootstrapped()
        with self.session(default_access_mode=neo4j.READ_ACCESS) as session, _timed("read"):
            return session.execute_read(self._bounded(work), *args, **kwargs)

    def read_statement(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        """The rows of one named read statement run as an auto-commit transaction: one round trip (RUN and
        PULL sent together) where a managed one takes three (BEGIN, RUN, COMMIT), for a hot read that one
        statement makes consistent. A transient failure is tried again, as execute_read would."""
        self.ensure_bootstrapped()
        query = neo4j.Query(graph_queries.get(name).text, timeout=self.query_timeout)
        for attempt in range(_MASKED_RETRIES + 1):
            try:
                with self.session(default_access_mode=neo4j.READ_ACCESS) as session, _timed("read"):
                    started = time.perf_counter()
                    rows = [to_native(record.data()) for record in session.run(query, params)]
                    QUERY_SECONDS.labels(name).observe(time.perf_counter() - started)
                    return rows
            except (Neo4jError, DriverError) as error:
                if attempt == _MASKED_RETRIES or not error.is_retryable():
                    raise
                time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
        raise AssertionError("unreachable")

    def write(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `work` in a write transaction; a request's Idempotency-Key hook joins its first one."""
        pending = _pending_idempotency()
        if pending is not None and pending.response is None:
            work = _finishing(work, pending)
        return self.write_step(work, *args, **kwargs)

    def write_step(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A write transaction that is one step of a longer job (a batch of a rewrite): the Idempotency-Key
        hook waits for the job's last transaction, run with write(), whose result is the job's answer."""
        self.ensure_bootstrapped()
        for attempt in range(_MASKED_RETRIES + 1):
            try:
                with self.session() as session, _timed("write"), _running_on(self):
                    result = session.execute_write(self._bounded(work), *args, **kwargs)
                    advance_bookmarks(session.last_bookmarks())
                    return result
            except neo4j.exceptions.ResultFailedError as error:
                # A deadlock (or other transient error) met while a result streams can reach the driver as
                # ResultFailedError, raised by the rollback that drains the failed result, which the driver
                # does not retry. The transaction was rolled back: run it again, as the driver would have.
                cause = _transient_cause(error)
                if attempt == _MASKED_RETRIES or cause is None:
                    raise
                log.warning("write failed on a transient error behind a failed result; retrying: %s", cause)
                time.sleep(random.uniform(0.2, 0.6) * (attempt + 1))
        raise AssertionError("unreachable")

    def session(self, **options: Any) -> neo4j.Session:
        """A session on the configured database that starts after the request's bookmarks (if any)."""
        return self.driver.session(database=self.database, bookmarks=current_bookmarks(), **options)

    def _bounded(self, work: Callable[..., T]) -> Callable[..., T]:
        """`work` as a unit of work with the configured transaction timeout (a new function each call,
        so the timeout never sticks to a shared one)."""
        if self.query_timeout is None:
            return work

        @neo4j.unit_of_work(timeout=self.query_timeout)
        def bounded(tx: ManagedTransaction, *args: Any, **kwargs: Any) -> T:
            return work(tx, *args, **kwargs)

        return bounded

    def ping(self) -> None:
        """Raise unless the database answers a query now."""
        self.driver.execute_query("RETURN 1", database_=self.database)

    def ensure_bootstrapped(self) -> None:
        """Apply the schema and seed keys once, as soon as the database can be reached.

        Start-up must not fail when Neo4j is down (readyz reports it), so this runs
        lazily before the first query and again until it succeeds.
        """
        if self._bootstrapped:
            return
        with self._bootstrap_lock:
            if self._bootstrapped:
                return
            for step in self.bootstrap_steps:
                step(self)
            self._bootstrapped = True

    def close(self) -> None:
        """Close what lives as long as the driver first (the analytics engine lets its queued write-backs
        finish: closing the driver under them races), then the driver."""
        for held in list(self.extensions.values()):
            closing = getattr(held, "close", None)
            if callable(closing):
                closing()
        self.extensions.clear()
        self.driver.close()


_config: ContextVar[Mapping[str, Any] | None] = ContextVar("netweave_graph_config", default=None)


@contextmanager
def _running_on(graph: "Graph") -> Iterator[None]:
    token = _config.set(graph.config)
    try:
        yield
    finally:
        _config.reset(token)


def setting(name: str) -> Any:
    """A setting of the graph whose write transaction is running (its defaults outside one): for the
    statements every write shares, such as the change feed's purge, which get a transaction, not a graph."""
    from service.config import DEFAULTS

    config = _config.get()
    return (config if config is not None else DEFAULTS)[name]


class _timed:
    """Observe a transaction's duration, retries included, with its outcome."""

    def __init__(self, mode: str):
        self.mode = mode

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, kind, error, traceback) -> None:
        outcome = "ok" if kind is None else "error"
        TRANSACTION_SECONDS.labels(self.mode, outcome).observe(time.perf_counter() - self.started)


def joins_idempotency() -> bool:
    """Whether this request's next write() stores its Idempotency-Key response (an unfinished key is pending)."""
    pending = _pending_idempotency()
    return pending is not None and pending.response is None


def _pending_idempotency() -> Joinable | None:
    unit = _unit.get()
    return unit.idempotency if unit is not None else None


def _finishing(work: Callable[..., T], pending) -> Callable[..., T]:
    def work_then_store_response(tx: ManagedTransaction, *args: Any, **kwargs: Any) -> T:
        result = work(tx, *args, **kwargs)
        pending.finish(tx, result)
        return result

    return work_then_store_response


# "property key does not exist" on optional properties is expected, not a problem to log.
QUIET_NOTIFICATIONS = ["UNRECOGNIZED"]


def create_driver(config: dict[str, Any]) -> neo4j.Driver:
    auth = (config["NEO4J_USER"], config["NEO4J_PASSWORD"]) if config.get("NEO4J_USER") else None
    return GraphDatabase.driver(
        config["NEO4J_URI"],
        auth=auth,
        connection_timeout=config["NEO4J_CONNECT_TIMEOUT"],
        connection_acquisition_timeout=config["NEO4J_RETRY_SECONDS"],
        max_transaction_retry_time=config["NEO4J_RETRY_SECONDS"],
        liveness_check_timeout=30.0,
        notifications_disabled_classifications=QUIET_NOTIFICATIONS,
        notifications_min_severity="WARNING",
    )


def apply_schema(graph: Graph) -> None:
    """Create every constraint and index of graph_queries/schema*.cypher (all IF NOT EXISTS)."""
    with graph.driver.session(database=graph.database) as session:
        for query in graph_queries.schema_statements():
            session.run(query.text).consume()
    log.info("schema applied")


def open_graph(config: Mapping[str, Any]) -> Graph:
    """A driver for the configured database that applies the schema and seeds the admin key on first use."""
    from service.repositories import api_keys, changes, vocabularies

    graph = Graph(create_driver(config), config["NEO4J_DATABASE"],
                  query_timeout=config["NETWEAVE_QUERY_TIMEOUT_SECONDS"], config=config)
    graph.bootstrap_steps = [apply_schema, changes.migrate, vocabularies.seed,
                             lambda g: api_keys.seed_admin(g, config["NETWEAVE_ADMIN_KEY"])]
    return graph


__all__ = ["Graph", "Unit", "begin_unit", "end_unit", "current_unit", "current_bookmarks", "advance_bookmarks",
           "carrying", "joining", "setting", "run", "run_plain", "run_one", "run_scalars", "to_native", "to_cypher",
           "apply_schema", "open_graph", "DriverError", "Neo4jError"]
