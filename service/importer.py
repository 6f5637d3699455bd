"""`netweave import`: stream a CSV or JSON-lines file through the sync upsert code in batches.

Resumable: after each committed batch the number of rows done is saved beside the
file, so a run that crashed continues where it stopped; since every batch is an
upsert by external id, repeating one never duplicates anything.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from schemas.sync import MAX_RECORDS, STATUSES
from service import db
from service.repositories import sync

LIST_FIELDS = {"topics", "populations", "organizations"}
INT_FIELDS = {"strength"}
BOOL_FIELDS = {"discoverable", "deleted"}
_TRUE, _FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}


@dataclass
class Mapping:
    """How file columns become record fields: renames, and the separator of list fields."""

    columns: dict[str, str] = field(default_factory=dict)
    separator: str = ";"

    @classmethod
    def load(cls, path: Path | None) -> "Mapping":
        if path is None:
            return cls()
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(spec, dict) or not isinstance(spec.get("columns", {}), dict):
            raise ValueError(f"{path}: expected a mapping with 'columns: {{file column: field}}'")
        return cls(columns={str(k): str(v) for k, v in spec.get("columns", {}).items()},
                   separator=str(spec.get("separator", ";")))

    def record(self, row: dict[str, Any]) -> dict[str, Any]:
        record = {}
        for column, value in row.items():
            name = self.columns.get(column, column)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            record[name] = self._coerce(name, value)
        return record

    def _coerce(self, name: str, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if name in LIST_FIELDS:
            return [part.strip() for part in value.split(self.separator) if part.strip()]
        if name in INT_FIELDS and value.strip().lstrip("-").isdigit():
            return int(value)
        if name in BOOL_FIELDS and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        return value


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a .csv file (header line first) or of a JSON-lines file (.jsonl, .ndjson)."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        yield {"__unreadable__": f"line {number}: {exc.msg}"}
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from csv.DictReader(handle)


def count_rows(path: Path) -> int:
    """How many rows `read_rows` yields (one streaming pass; for progress)."""
    return sum(1 for _ in read_rows(path))


@dataclass
class ImportState:
    """Progress saved beside the file: which file (by content hash), what, and how many rows are done."""

    path: Path
    fingerprint: str
    resource: str
    source: str
    rows_done: int = 0
    complete: bool = False

    @classmethod
    def open(cls, data_file: Path, resource: str, source: str) -> "ImportState":
        state_path = data_file.with_name(data_file.name + ".netweave-import.json")
        fingerprint = _file_hash(data_file)
        if state_path.exists():
            saved = json.loads(state_path.read_text(encoding="utf-8"))
            if (saved.get("fingerprint"), saved.get("resource"), saved.get("source")) == (fingerprint, resource,
                                                                                           source):
                return cls(state_path, fingerprint, resource, source, saved.get("rows_done", 0),
                           saved.get("complete", False))
        return cls(state_path, fingerprint, resource, source)

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "resource": self.resource, "source": self.source,
                                   "rows_done": self.rows_done, "complete": self.complete}), encoding="utf-8")
        tmp.replace(self.path)


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=lambda: {status: 0 for status in STATUSES})
    errors: list[dict[str, Any]] = field(default_factory=list)
    rows_skipped: int = 0
    batches: int = 0

    def add(self, first_row: int, outcome: dict[str, Any], records: list[dict[str, Any]]) -> None:
        self.batches += 1
        for result in outcome["results"]:
            self.counts[result["status"]] += 1
            if result["status"] == "error":
                self.errors.append({"row": first_row + result["index"] + 1,
                                    "external_id": result["external_id"] or "",
                                    "fields": " ".join(e["field"] for e in result["error"].get("errors", [])),
                                    "detail": result["error"]["detail"],
                                    "record": json.dumps(records[result["index"]], default=str)})


def run_import(graph: db.Graph, data_file: Path, *, resource: str, source: str, mapping: Mapping,
               batch_size: int = 500, max_batches: int | None = None, restart: bool = False,
               on_batch=lambda done, report: None) -> tuple[Report, ImportState]:
    """Import the file in batches, resuming after the rows a previous run committed."""
    if not 1 <= batch_size <= MAX_RECORDS:
        raise ValueError(f"batch size must be 1-{MAX_RECORDS}")
    state = ImportState.open(data_file, resource, source)
    if restart:
        state.rows_done, state.complete = 0, False
    report = Report(rows_skipped=state.rows_done)
    batch: list[dict[str, Any]] = []
    for number, row in enumerate(read_rows(data_file)):
        if number < state.rows_done:
            continue
        batch.append(mapping.record(row))
        if len(batch) == batch_size:
            _commit(graph, state, report, batch, resource, source, on_batch)
            batch = []
            if max_batches is not None and report.batches >= max_batches:
                return report, state
    if batch:
        _commit(graph, state, report, batch, resource, source, on_batch)
    state.complete = True
    state.save()
    return report, state


def _commit(graph, state, report, batch, resource, source, on_batch) -> None:
    outcome = sync.sync(graph, resource, source, batch, atomic=False)
    report.add(state.rows_done, outcome, batch)
    state.rows_done += len(batch)
    state.save()
    on_batch(state.rows_done, report)


def write_error_report(path: Path, report: Report) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["row", "external_id", "fields", "detail", "record"])
        writer.writeheader()
        writer.writerows(report.errors)
