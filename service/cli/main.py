"""The `netweave` command: serve the API, run a local Neo4j, seed the demo network, manage keys."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from service import config as config_module
from service.cli.problems import ProblemGroup, messages_line
from service.cli.progress import Progress

GUNICORN_CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
IMPORT_ERRORS_SHOWN = 10  # rejected rows printed after an import (all of them are in the errors file)


@click.group(cls=ProblemGroup)
def main() -> None:
    """netweave: a relationship-graph service for education networks."""


@main.command()
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), envvar="NETWEAVE_PORT",
              show_envvar=True)
@click.option("--host", default="127.0.0.1", show_default=True, envvar="NETWEAVE_HOST", show_envvar=True,
              help="0.0.0.0 to listen on every interface (the Docker image does)")
@click.option("--workers", type=click.IntRange(1, 64), help="gunicorn workers (default from gunicorn.conf.py)")
def serve(port: int, host: str, workers: int | None) -> None:
    """Run the API under gunicorn (gthread workers, driver created per worker)."""
    _load_config_or_exit()
    argv = ["gunicorn", "--config", str(GUNICORN_CONF), "--bind", f"{host}:{port}"]
    if workers:
        argv += ["--workers", str(workers)]
    argv.append("service.web.app:create_app()")
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", *argv[1:]])


@main.group()
def neo4j() -> None:
    """A local Neo4j 5.26 (tools/neo4j-local) for machines without Docker."""


_data_option = click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                            help="data directory (default .netweave/neo4j in the repository)")


@neo4j.command("start")
@click.option("--port", default=7687, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port")
@_data_option
@click.option("--heap-mb", default=768, show_default=True, type=click.IntRange(256, 65536))
@click.option("--pagecache-mb", default=64, show_default=True, type=click.IntRange(8, 65536))
@click.option("--plugins", default="", metavar="gds,apoc", callback=lambda ctx, param, value: _plugin_names(value),
              help="load these Neo4j plugins (fetched by Maven on first use)")
def neo4j_start(port: int, data_dir: Path | None, heap_mb: int, pagecache_mb: int, plugins: tuple[str, ...]) -> None:
    """Build if needed, start in the background, wait for Bolt; the last line printed is the bolt URI."""
    from service.cli import neo4j_local

    try:
        running = neo4j_local.start(port=port, data_dir=data_dir or neo4j_local.DEFAULT_DATA_DIR,
                                    log=lambda line: click.echo(line, err=True), heap_mb=heap_mb,
                                    pagecache_mb=pagecache_mb, plugins=plugins)
    except neo4j_local.LauncherError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"neo4j running (pid {running.pid})", err=True)
    click.echo(running.uri)


def _plugin_names(value: str) -> tuple[str, ...]:
    from service.cli import neo4j_local

    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = sorted(set(names) - set(neo4j_local.PLUGINS))
    if unknown:
        raise click.BadParameter(f"unknown plugin(s) {', '.join(unknown)}; choose from "
                                 f"{', '.join(sorted(neo4j_local.PLUGINS))}")
    return names


@neo4j.command("stop")
@_data_option
def neo4j_stop(data_dir: Path | None) -> None:
    """Stop the local Neo4j cleanly."""
    from service.cli import neo4j_local

    stopped = neo4j_local.stop(data_dir or neo4j_local.DEFAULT_DATA_DIR)
    click.echo("stopped" if stopped else "not running")


@neo4j.command("status")
@_data_option
def neo4j_status(data_dir: Path | None) -> None:
    """Say whether the local Neo4j runs (exit 1 when it does not)."""
    from service.cli import neo4j_local

    running = neo4j_local.status(data_dir or neo4j_local.DEFAULT_DATA_DIR)
    if running is None:
        click.echo("not running")
        sys.exit(1)
    click.echo(f"running (pid {running.pid}) at {running.uri}")


@main.command(epilog="Scaling out: run more `netweave worker` processes, on this machine or others, with the same "
                     "NETWEAVE_QUEUE_URL and NEO4J_URI. Each computes one analytics job at a time, and writes up to "
                     "NETWEAVE_WORKER_EXPORT_THREADS exports beside it; the queue hands every "
                     "job to one of them, and a job whose worker dies goes back on the queue for another "
                     "(after NETWEAVE_QUEUE_HEARTBEAT_SECONDS). One worker per CPU core left over by the "
                     "web tier is a good start.")
@click.option("--nice", default=10, show_default=True, type=click.IntRange(0, 19), envvar="NETWEAVE_WORKER_NICE",
              show_envvar=True, help="CPU priority below the web tier's (os.nice increment)")
@click.option("--stop-seconds", default=30.0, show_default=True, type=click.FloatRange(0, 3600),
              envvar="NETWEAVE_WORKER_STOP_SECONDS", show_envvar=True,
              help="on SIGTERM, how long the running job may take to finish before it is left to the queue")
def worker(nice: int, stop_seconds: float) -> None:
    """Run an analytics worker: it takes jobs from the queue at NETWEAVE_QUEUE_URL (Redis), computes
    clusters, bridges, health and segments, writes exports of the whole graph, and recomputes the default
    reports after writes."""
    from service.analytics import worker as worker_module
    from service.web.observability import configure_logging

    config = _load_config_or_exit()
    if not config.get("NETWEAVE_QUEUE_URL"):
        raise click.ClickException("NETWEAVE_QUEUE_URL is not set: the worker takes its jobs from that Redis "
                                   "(for example redis://127.0.0.1:6379/0), and the API must have the same")
    configure_logging(config["NETWEAVE_LOG_LEVEL"])     # JSON lines on stderr, scrubbed, as the API's
    worker_module.run(config, _graph(), nice=nice, stop_seconds=stop_seconds)


@main.command()
@click.option("--demo", is_flag=True, required=True, help="load the generated demo network")
@click.option("--seed", "seed_value", default=7, show_default=True, help="random seed of the generator")
@click.option("--members", default=300, show_default=True, type=click.IntRange(20, 5000))
@click.option("--if-empty", is_flag=True, help="do nothing when the graph already has members or organizations")
def seed(demo: bool, seed_value: int, members: int, if_empty: bool) -> None:
    """Load the demo network (see service/cli/demo.py for its structure)."""
    from service.cli import demo as demo_module, seeding

    graph = _graph()
    try:
        if if_empty and not seeding.graph_is_empty(graph):
            click.echo("graph is not empty; demo network not loaded")
            return
        network = demo_module.generate_demo_network(seed=seed_value, members=members)
        with Progress("seed", seeding.row_count(network)) as progress:
            counts = seeding.load(graph, network, seed_value, on_batch=progress.advance)
    finally:
        graph.close()
    click.echo("loaded demo network: " + ", ".join(f"{count} {what}" for what, count in counts.items()))


@main.command("import", epilog="Exit status: 0 when every row was stored; 1 when any row was rejected (they are "
                                 "in the errors file) or the file cannot be read; 2 for a usage error, including "
                                 "a bad --map.")
@click.argument("data_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--resource", required=True, type=click.Choice(["organizations", "members", "collaborations"]))
@click.option("--source", required=True, callback=lambda ctx, param, value: _check_source(value),
              help="the system the file comes from, e.g. hubspot")
@click.option("--map", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML: columns: {file column: field, dropped column: ~}, separator: ';' (for list fields)")
@click.option("--encoding", default="utf-8", show_default=True, callback=lambda ctx, param, value: _encoding(value),
              help="the file's text encoding, e.g. cp1252 or latin-1 (a UTF-8 byte-order mark is skipped)")
@click.option("--delimiter", callback=lambda ctx, param, value: _delimiter(value), metavar="',' | ';' | tab | '|'",
              help="the CSV field separator (default: sniffed from the header line)")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 1000))
@click.option("--errors", "errors_file", type=click.Path(dir_okay=False, path_type=Path),
              help="where rejected rows go (default: FILE.errors.csv)")
@click.option("--max-batches", type=click.IntRange(min=1), help="stop after this many batches (resume later)")
@click.option("--restart", is_flag=True, help="ignore saved progress and start from the first row")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
def import_file(data_file: Path, resource: str, source: str, mapping_file: Path | None, encoding: str,
                delimiter: str | None, batch_size: int, errors_file: Path | None, max_batches: int | None,
                restart: bool, as_json: bool) -> None:
    """Upsert records from a CSV or JSON-lines file by external id, resumably.

    Rows are numbered by the file's lines (the header is line 1). A file that is not well-formed (not in
    its encoding, a quote left open, a row with more or fewer fields than the header) is refused, naming
    the line, before anything is written.
    """
    from service.cli import importer

    mapping, fmt, inspection = _import_plan(data_file, resource, mapping_file, encoding, delimiter)
    graph = _graph()
    try:
        mapping.bind_attributes(graph, resource, inspection.header)
    except importer.FileProblem as exc:  # a column fills an attribute nobody defined: nothing is written
        graph.close()
        raise click.UsageError(str(exc)) from None
    resumed = 0 if restart else importer.ImportState.open(data_file, resource, source).rows_done
    progress = Progress("import", max(inspection.rows - resumed, 0))
    committed = [resumed]

    def on_batch(rows_done: int, _report) -> None:
        progress.advance(rows_done - committed[0])
        committed[0] = rows_done

    try:
        report, state = importer.run_import(graph, data_file, resource=resource, source=source, mapping=mapping,
                                            fmt=fmt, batch_size=batch_size, max_batches=max_batches,
                                            restart=restart, on_batch=on_batch)
    except importer.FileProblem as exc:  # the file changed since it was inspected
        raise click.ClickException(str(exc)) from None
    finally:
        graph.close()
        progress.finish()
    errors_path = errors_file or data_file.with_name(data_file.name + ".errors.csv")
    if report.errors:
        importer.write_error_report(errors_path, report)
    _import_summary(report, state, errors_path, inspection.delimiter, as_json)
    if report.errors or (state.imported_before and state.rejected):
        click.get_current_context().exit(1)


def _import_plan(data_file: Path, resource: str, mapping_file: Path | None, encoding: str, delimiter: str | None):
    """The mapping, how to read the file, and the file read once through: a bad one stops here, nothing written."""
    from service.cli import importer

    try:
        mapping = importer.Mapping.load(mapping_file)
        mapping.check(resource)
    except importer.FileProblem as exc:
        raise click.BadParameter(str(exc), param_hint="--map") from None
    try:
        inspection = importer.inspect_file(data_file, importer.FileFormat(encoding, delimiter), mapping, resource)
    except importer.FileProblem as exc:
        raise click.ClickException(str(exc)) from None
    return mapping, importer.FileFormat(encoding, inspection.delimiter), inspection


def _import_summary(report, state, errors_path: Path, delimiter: str | None, as_json: bool) -> None:
    summary = {**report.counts, "rows_done": state.rows_done, "complete": state.complete,
               "resumed_after": report.rows_skipped, "imported_before": state.imported_before,
               "rejected_before": state.rejected if state.imported_before else 0,
               "new_values": {name: sorted(values) for name, values in sorted(report.new_values.items())},
               "delimiter": delimiter,
               "errors_file": str(errors_path) if report.errors else None}
    if as_json:
        click.echo(json.dumps(summary))
        return
    if state.imported_before:
        click.echo(f"this file was imported completely before ({state.rejected} rows rejected then, listed in "
                   f"{errors_path}): nothing imported; --restart imports it again from its first row")
        return
    _table([(status, count) for status, count in report.counts.items()], ("status", "records"))
    click.echo(f"rows done: {state.rows_done}" + ("" if state.complete else " (not complete: run again to resume)"))
    for name, values in sorted(report.new_values.items()):
        click.echo(f"new {name} values added to the vocabulary: {', '.join(sorted(values))}")
    if report.errors:
        shown = sorted(report.errors, key=lambda error: error["line"])[:IMPORT_ERRORS_SHOWN]
        for error in shown:
            click.echo(error["detail"], err=True)
        more = len(report.errors) - len(shown)
        click.echo(f"rejected rows{f' ({more} more)' if more else ''} written to {errors_path}")


def _encoding(value: str) -> str:
    import codecs

    try:
        codecs.lookup(value)
    except LookupError:
        raise click.BadParameter(f"unknown encoding {value!r}; e.g. utf-8, cp1252, latin-1, utf-16") from None
    return value


def _delimiter(value: str | None) -> str | None:
    if value is None:
        return None
    value = "\t" if value.lower() in ("tab", "\\t") else value
    if len(value) != 1 or value in "\"\r\n":
        raise click.BadParameter("one character, such as ',' or ';', or 'tab'")
    return value


def _check_source(value: str) -> str:
    import re

    from schemas.sync import SOURCE_PATTERN

    if not re.match(SOURCE_PATTERN, value):
        raise click.BadParameter("1-50 characters: lower-case letters, digits, '_', '.', '-'")
    return value


def _table(rows, header) -> None:
    width = max(len(str(cell)) for row in [header, *rows] for cell in row[:1]) + 2
    click.echo(f"{header[0]:<{width}}{header[1]:>8}")
    for name, value in rows:
        click.echo(f"{name:<{width}}{value:>8}")


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--name", required=True)
@click.option("--scopes", required=True, help="comma-separated: read,write,sync,analytics,pii,admin")
@click.option("--json", "as_json", is_flag=True, help="print the key as JSON")
def keys_create(name: str, scopes: str, as_json: bool) -> None:
    """Create an API key and print its secret (shown only this once)."""
    from schemas.keys import ApiKeySchema
    from marshmallow import ValidationError
    from service.repositories import api_keys

    values = {"name": name, "scopes": [s.strip() for s in scopes.split(",") if s.strip()]}
    try:
        body = ApiKeySchema().load(values)
    except ValidationError as exc:
        raise click.UsageError(messages_line(exc.messages, values)) from None
    graph = _graph()
    try:
        key = api_keys.create(graph, body["name"], body["scopes"])
    finally:
        graph.close()
    if as_json:
        click.echo(json.dumps({**key, "created_at": key["created_at"].isoformat()}))
    else:
        click.echo(f"created key {key['id']} ({key['name']}: {', '.join(key['scopes'])})", err=True)
        click.echo(key["secret"])


@main.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write to this file instead of standard output")
def openapi(output: Path | None) -> None:
    """Print (or write) the OpenAPI document generated from the code."""
    from service import create_app

    text = create_app().extensions["netweave.api"].spec.to_yaml()
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


def _load_config_or_exit() -> dict:
    try:
        return config_module.load()
    except config_module.ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _graph():
    from service import open_graph

    return open_graph(_load_config_or_exit())


def _add_analyst_commands() -> None:
    """`netweave export` and `netweave analytics ...` live in service/cli/analytics.py."""
    from service.cli.analytics import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_add_analyst_commands()
