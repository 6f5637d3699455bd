"""The analyst's commands: `netweave export` and `netweave analytics run|health|bridges|clusters`.

They talk to the database directly, through the same code as the API (an app context gives them the
analytics engine), print readable tables, or with `--json` the API's own response shapes. Long work
shows progress on standard error (see service/cli/progress.py).
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator

import click
from marshmallow import Schema, ValidationError

from service.cli.problems import messages_line
from service.cli.progress import Progress

PROGRESS_EVERY = 500       # items between progress updates of an export (a bar redraw per row is slow)
TOP = 10


# --- shared plumbing ----------------------------------------------------------------------------------

@contextmanager
def _app() -> Iterator[Any]:
    """An app context on the configured database; the engine waits up to 50 s before going to the background."""
    from service import config as config_module, create_app, db

    try:
        app = create_app({"NETWEAVE_ANALYTICS_SYNC_SECONDS": 50.0})
    except config_module.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        with app.app_context():
            yield app
    finally:
        app.extensions[db.EXTENSION].close()    # the engine first: its queued write-backs finish


def _load(schema: Schema, values: dict[str, Any]) -> dict[str, Any]:
    """CLI options validated by the API's argument schema; a bad one is a usage error naming its option."""
    try:
        return schema.load({key: value for key, value in values.items() if value is not None})
    except ValidationError as exc:
        raise click.UsageError(messages_line(exc.messages, values)) from None


def _settled(compute: Callable[[], dict]) -> dict:
    """A report, waiting for a background run when the computation outlasts the engine's wait."""
    from service.analytics.engine import Pending

    try:
        return compute()
    except Pending as pending:
        pending.run.future.result()
        return compute()


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, default=str))


def table(rows: list[list[Any]], header: list[str]) -> str:
    """A plain text table: numbers right-aligned and floats to 4 places, text left-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(header)]
    numeric = [all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool) for row in rows if
                   row[i] is not None) and rows != [] for i in range(len(header))]
    lines = ["  ".join(h.rjust(w) if n else h.ljust(w) for h, w, n in zip(header, widths, numeric)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric)).rstrip()
              for row in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _computed_line(computed: dict) -> str:
    how = "exact" if computed["exact"] else f"estimated ({computed['sample_size']} samples, see the algorithm)"
    return (f"as of {computed['as_of']}, revision {computed['revision']}, {how}"
            + (", cached" if computed["cached"] else "") + (", STALE" if computed["stale"] else ""))


_as_of = click.option("--as-of", help="the network as of this date, YYYY-MM-DD (default today)")
_include = click.option("--include", type=click.Choice(["organizations"]), help="organizations become vertices")
_json = click.option("--json", "as_json", is_flag=True, help="print the API's JSON instead of tables")
_filters = [click.option("--organization-id", help="only members affiliated with this organization"),
            click.option("--region", help="only members of this region"),
            click.option("--role", help="only members in this role")]


def _with(options: list) -> Callable:
    def decorate(function: Callable) -> Callable:
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


# --- export -----------------------------------------------------------------------------------------

@click.command("export")
@click.option("--format", "fmt", required=True, type=click.Choice(["graphml", "gexf", "json", "csv"]),
              help="graphml/gexf for Gephi, json for Kumu, csv for a zip of nodes.csv and ties.csv")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="the file to write ('-' for standard output)")
@_as_of
@_include
@_with(_filters)
@click.option("--analytics", type=click.Choice(["cached", "compute"]), default="cached", show_default=True,
              help="compute: compute clusters and bridges first, so every node has cluster_id, betweenness "
                   "and articulation_point")
@click.option("--source", help="only the ties of this source (survey:<id> for one check-in's)")
@click.option("--pii", is_flag=True, help="include members' emails (personal data)")
@_json
def export(fmt: str, output: Path, as_of: str | None, include: str | None, organization_id: str | None,
           region: str | None, role: str | None, analytics: str, source: str | None, pii: bool,
           as_json: bool) -> None:
    """Write the network to a file for Gephi, Kumu or a spreadsheet (what GET /v1/export streams)."""
    from schemas.exports import ExportArgsSchema
    from service import exports
    from service.repositories.analytics import today

    args = _load(ExportArgsSchema(), {"format": fmt, "as_of": as_of, "include": include, "region": region,
                                      "role": role, "organization_id": organization_id, "analytics": analytics,
                                      "source": source})
    selection = exports.Selection(as_of=args.get("as_of") or today(),
                                  organizations=args.get("include") == "organizations",
                                  organization_id=args.get("organization_id"), region=args.get("region"),
                                  role=args.get("role"), source=args.get("source"))
    started = time.monotonic()
    with _app() as app:
        from service import db

        graph = app.extensions[db.EXTENSION]
        if args["analytics"] == "compute":
            from service.repositories import analytics as analytics_repository

            include_list = ["organizations"] if selection.organizations else []
            with Progress("analytics", 1) as progress:
                progress.step("clusters, betweenness and articulation points")
                _settled(lambda: analytics_repository.bridges(graph, as_of=selection.as_of, include=include_list,
                                                              limit=1, source=selection.source))
        export_ = exports.start(graph, selection, fmt, pii=pii)
        try:
            counts = export_.counts()
            written = _write(export_, output, sum(counts.values()))
        finally:
            export_.close()
    summary = {"file": str(output), "format": fmt, "bytes": written, **counts,
               "analytics": export_.analytics.sources(), "revision": export_.revision,
               "seconds": round(time.monotonic() - started, 2)}
    if as_json:
        # With the file on standard output, the summary goes to standard error so the two do not mix.
        click.echo(json.dumps(summary, default=str), err=str(output) == "-")
    elif str(output) != "-":
        click.echo(f"wrote {output}: {written} bytes, {counts['members']} members, "
                   f"{counts['organizations']} organizations, {counts['collaborations']} collaborations, "
                   f"{counts['affiliations']} affiliations")
        click.echo("analytics: " + ", ".join(f"{k} {v}" for k, v in export_.analytics.sources().items()))


def _write(export_, output: Path, total: int) -> int:
    """Stream the export into `output` (through a temporary file, so a failure leaves no half file)."""
    pending = [0]

    def tick() -> None:
        pending[0] += 1
        if pending[0] == PROGRESS_EVERY:
            progress.advance(pending[0])
            pending[0] = 0

    written = 0
    with Progress("export", total) as progress:
        if str(output) == "-":
            stream = sys.stdout.buffer
            for chunk in export_.chunks(on_item=tick):
                stream.write(chunk)
                written += len(chunk)
            stream.flush()
        else:
            partial = output.with_name(output.name + ".partial")
            try:
                with partial.open("wb") as handle:
                    for chunk in export_.chunks(on_item=tick):
                        handle.write(chunk)
                        written += len(chunk)
                os.replace(partial, output)
            finally:
                partial.unlink(missing_ok=True)
        progress.advance(pending[0])
    return written


# --- analytics ----------------------------------------------------------------------------------------

@click.group("analytics")
def analytics_group() -> None:
    """Network analytics from the command line: health, brokers and bridges, clusters."""


@analytics_group.command("health")
@_as_of
@_with(_filters)
@_json
def health(as_of: str | None, organization_id: str | None, region: str | None, role: str | None,
           as_json: bool) -> None:
    """Network health metrics (for the network or a part of it)."""
    from schemas.analytics import HealthArgsSchema, HealthSchema
    from service.repositories import analytics

    args = _load(HealthArgsSchema(), {"as_of": as_of, "organization_id": organization_id, "region": region,
                                      "role": role})
    with _app() as app:
        report = HealthSchema().dump(_settled(lambda: analytics.health(_graph(app), **args)))
    if as_json:
        return _echo_json(report)
    scope = ", ".join(f"{k} {v}" for k, v in report["scope"].items() if v) or "the whole network"
    click.echo(f"Network health: {scope}")
    click.echo(table([[name, value] for name, value in analytics.flatten(report["metrics"]).items()],
                     ["metric", "value"]))
    click.echo(_computed_line(report["computed"]))


@analytics_group.command("bridges")
@_as_of
@_include
@click.option("--limit", type=int, default=TOP, show_default=True,
              help="brokers to list, 1-100 (and articulation points and bridge ties to show)")
@click.option("--min-cut-off", type=int, default=None,
              help="show only bridge ties and articulation points that cut off at least this many members "
                   "(default 2: no pendant ties; 1 shows every one)")
@_json
def bridges(as_of: str | None, include: str | None, limit: int, min_cut_off: int | None, as_json: bool) -> None:
    """Top brokers (betweenness), articulation points and bridge ties, those joining clusters first."""
    from schemas.analytics import BridgesArgsSchema, BridgesSchema
    from service.repositories import analytics

    args = _load(BridgesArgsSchema(), {"as_of": as_of, "include": include, "limit": limit,
                                       "min_cut_off": min_cut_off})
    args["include"] = [args["include"]] if args.get("include") else []
    with _app() as app:
        report = BridgesSchema().dump(_settled(lambda: analytics.bridges(_graph(app), **args)))
    if as_json:
        return _echo_json(report)
    click.echo(f"Top brokers ({len(report['brokers'])})")
    click.echo(table([[b["member"]["name"], b["member"].get("region"), b["betweenness"], b["clusters_reached"]]
                      for b in report["brokers"]], ["member", "region", "betweenness", "clusters reached"]))
    least = args["min_cut_off"]
    click.echo(f"\nArticulation points ({report['articulation_points_total']}; "
               f"{report['articulation_points_matching']} cut off {least} or more; first {limit})")
    click.echo(table([[p["member"]["name"], p["member"].get("region"), p["cut_off"], p["clusters_joined"]]
                      for p in report["articulation_points"][:limit]],
                     ["member", "region", "cut off", "clusters joined"]))
    click.echo(f"\nBridge ties ({report['bridge_ties_total']}, {report['pendant_ties_total']} pendant; "
               f"{report['bridge_ties_matching']} cut off {least} or more; first {limit})")
    click.echo(table([[t["source"]["name"], t["target"]["name"], t["cut_off"], t["clusters_joined"],
                       "yes" if t["pendant"] else ""] for t in report["bridge_ties"][:limit]],
                     ["one end", "other end", "cut off", "clusters joined", "pendant"]))
    click.echo(_computed_line(report["computed"]))


@analytics_group.command("clusters")
@_as_of
@_include
@click.option("--resolution", type=float, default=1.0, show_default=True, help="Leiden resolution (0-10]")
@click.option("--limit", type=int, default=20, show_default=True, help="clusters to list, largest first")
@_json
def clusters(as_of: str | None, include: str | None, resolution: float, limit: int, as_json: bool) -> None:
    """Clusters (Leiden) with their size, density and silo score."""
    from schemas.analytics import ClustersArgsSchema, ClustersSchema
    from service.repositories import analytics

    args = _load(ClustersArgsSchema(), {"as_of": as_of, "include": include, "resolution": resolution,
                                        "limit": limit})
    args["include"] = [args["include"]] if args.get("include") else []
    with _app() as app:
        report = ClustersSchema().dump(_settled(lambda: analytics.clusters(_graph(app), **args)))
    if as_json:
        return _echo_json(report)
    click.echo(f"Clusters: {report['clusters_total']}, modularity {report['modularity']:.4f}")
    click.echo(table([[c["id"][:8], c["name"], c["size"], c["density"], c["internal_ties"], c["external_ties"],
                       c["ei_index"], [m["name"] for m in c["top_members"][:3]],
                       [o["name"] for o in c["organizations"][:2]]] for c in report["clusters"]],
                     ["cluster", "name", "size", "density", "internal", "external", "E-I", "top members",
                      "organizations"]))
    click.echo(_computed_line(report["computed"]))


@analytics_group.command("run")
@_as_of
@_include
@_json
def run(as_of: str | None, include: str | None, as_json: bool) -> None:
    """Compute clusters, brokers and health now (and, for today's graph, write cluster ids, betweenness and
    coreness back onto members), then print a summary."""
    from schemas.analytics import BridgesArgsSchema
    from service.analytics.engine import get_engine
    from service.repositories import analytics

    args = _load(BridgesArgsSchema(), {"as_of": as_of, "include": include})
    day, included = args.get("as_of") or analytics.today(), [args["include"]] if args.get("include") else []
    started = time.monotonic()
    with _app() as app:
        graph, engine = _graph(app), get_engine(app)
        with Progress("analytics run", 4) as progress:
            progress.step("reading the network and clustering (Leiden)")
            found = _settled(lambda: analytics.clusters(graph, as_of=day, include=included, limit=TOP))
            progress.step("betweenness, articulation points, bridge ties")
            cut = _settled(lambda: analytics.bridges(graph, as_of=day, include=included, limit=TOP))
            progress.step("health metrics")
            healthy = _settled(lambda: analytics.health(graph, as_of=day))
            progress.step("writing cluster ids, betweenness and coreness back onto members")
            engine.wait_idle()
    written_back = day == analytics.today() and not included
    summary = {"as_of": day.isoformat(), "revision": cut["computed"]["revision"],
               "health": healthy["metrics"], "clusters_total": found["clusters_total"],
               "modularity": found["modularity"], "articulation_points_total": cut["articulation_points_total"],
               "bridge_ties_total": cut["bridge_ties_total"],
               "brokers": [{"id": b["member"]["id"], "name": b["member"]["name"], "betweenness": b["betweenness"]}
                           for b in cut["brokers"]],
               "betweenness_exact": cut["computed"]["exact"], "written_back": written_back,
               "seconds": round(time.monotonic() - started, 2)}
    if as_json:
        return _echo_json(summary)
    metrics = healthy["metrics"]
    click.echo(f"Network as of {summary['as_of']} (revision {summary['revision']}): {metrics['members']} members, "
               f"{metrics['ties']} ties, {metrics['components']} components, density {metrics['density']:.4f}")
    click.echo(f"{summary['clusters_total']} clusters (modularity {summary['modularity']:.4f}), "
               f"{summary['articulation_points_total']} articulation points, "
               f"{summary['bridge_ties_total']} bridge ties")
    click.echo(table([[b["name"], b["betweenness"]] for b in summary["brokers"]], ["top broker", "betweenness"]))
    click.echo(("written back onto members" if written_back else "not written back (only today's members-only "
                                                                 "graph is)") + f"; {summary['seconds']}s")


def _graph(app):
    from service import db

    return app.extensions[db.EXTENSION]


COMMANDS = (export, analytics_group)
