"""`netweave import`: stream a CSV or JSON-lines file through the sync upsert code in batches.

Resumable: after each committed batch the number of rows done is saved beside the
file, so a run that crashed continues where it stopped; since every batch is an
upsert by external id, repeating one never duplicates anything.

Rows are numbered as the file counts its lines (the header is line 1, a quoted field
that runs over several lines counts each), so an error names the line an editor shows.
A file that is not well-formed (not in its encoding, a quote left open, a row with more
or fewer fields than the header) is refused before anything is written.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from schemas.common import ATTRIBUTE_NAME, ATTRIBUTE_NAME_RULE
from schemas.sync import MAX_RECORDS, RECORD_SCHEMAS, STATUSES
from service import db
from service.repositories import attributes, sync

LIST_FIELDS = {"topics", "populations", "organizations"}
INT_FIELDS = {"strength"}
BOOL_FIELDS = {"discoverable", "deleted"}
_TRUE, _FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}
_INTEGER = re.compile(r"[-+]?\d{1,16}")
_NUMBER = re.compile(r"[-+]?(\d{1,16}(\.\d*)?|\.\d+)([eE][-+]?\d{1,3})?")
JSON_LINES = (".jsonl", ".ndjson")
# A column mapped to "attributes.grade_band" fills that custom attribute (GET /v1/attributes); its text is read
# as the attribute's type says (an integer "4" as 4, a boolean "Yes" as true, tags split by the separator).
ATTRIBUTE_FIELD = "attributes."
TARGETS = {"members": "member", "organizations": "organization", "collaborations": "collaboration"}
# The separators the header line is sniffed for (csv.Sniffer); anything else needs --delimiter.
DELIMITERS = ",;\t|"


class FileProblem(ValueError):
    """The data file or the mapping cannot be read; the message names the file and, when known, the line."""

    def __init__(self, path: Path, message: str, line: int | None = None):
        where = f"{path.name}, line {line}" if line is not None else path.name
        super().__init__(f"{where}: {message}")
        self.line = line


def record_fields(resource: str) -> list[str]:
    """The fields a record of this resource may carry (what a column may be mapped to)."""
    return [name for name, spec in RECORD_SCHEMAS[resource]().fields.items() if not spec.dump_only]


def field_problem(name: str, resource: str) -> str | None:
    """Why `name` cannot be a field of the resource's records, as words that follow it ("is not ..."), or None
    when it can. Besides the record's own fields, `attributes.NAME` names a custom attribute of the resource's
    target."""
    allowed = record_fields(resource)
    if name in allowed:
        return None
    if name.startswith(ATTRIBUTE_FIELD) and "attributes" in allowed:
        attribute = name[len(ATTRIBUTE_FIELD):]
        return None if ATTRIBUTE_NAME.fullmatch(attribute) else (
            f"is no custom attribute: {attribute!r} is not an attribute name ({ATTRIBUTE_NAME_RULE})")
    extra = ", attributes.NAME" if "attributes" in allowed else ""
    return f"is not a field of {resource} records ({', '.join(allowed)}{extra})"


@dataclass
class Mapping:
    """How file columns become record fields: renames (None drops a column), and the list separator."""

    columns: dict[str, str | None] = field(default_factory=dict)
    separator: str = ";"
    path: Path | None = None
    # The target's custom attributes, name -> type (`bind_attributes`): how a text value is read.
    attribute_types: dict[str, str] | None = None

    @classmethod
    def load(cls, path: Path | None) -> "Mapping":
        if path is None:
            return cls()
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError as exc:
            raise FileProblem(path, f"not UTF-8 text (byte 0x{exc.object[exc.start]:02X} at offset {exc.start})")
        except yaml.YAMLError as exc:
            raise FileProblem(path, f"not valid YAML: {_yaml_problem(exc)}", _yaml_line(exc)) from None
        if not isinstance(spec, dict) or not isinstance(spec.get("columns", {}), dict):
            raise FileProblem(path, "expected a mapping with 'columns: {file column: field}'")
        unknown = sorted(set(spec) - {"columns", "separator"})
        if unknown:
            raise FileProblem(path, f"unknown key {unknown[0]!r}; a mapping has 'columns' and 'separator'")
        separator = spec.get("separator", ";")
        if not isinstance(separator, str) or not separator:
            raise FileProblem(path, "'separator' must be a non-empty string, such as ';'")
        columns = {str(k): None if v is None else str(v) for k, v in spec.get("columns", {}).items()}
        return cls(columns=columns, separator=separator, path=path)

    def check(self, resource: str) -> None:
        """Every column must map to a field of the resource's records, or a custom attribute (`attributes.NAME`),
        or to nothing, to drop it."""
        for column, name in self.columns.items():
            problem = None if name is None else field_problem(name, resource)
            if problem:
                raise FileProblem(self.path or Path("mapping"), f"column {column!r} maps to {name!r}, which {problem}")

    def attribute_fields(self, header: list[str]) -> list[tuple[str, str]]:
        """(column, attribute name) of the header's columns that fill a custom attribute."""
        return [(column, name[len(ATTRIBUTE_FIELD):]) for column in header
                if (name := self.field_name(column)) and name.startswith(ATTRIBUTE_FIELD)]

    def bind_attributes(self, graph: db.Graph, resource: str, header: list[str] | None = None) -> None:
        """Read the resource's attribute definitions (their types say how a text value is read); with the CSV
        `header`, a column that fills an attribute nobody defined is a FileProblem naming it, before anything
        is written."""
        target = TARGETS.get(resource)
        if target is None:
            return
        self.attribute_types = {d["name"]: d["type"] for d in attributes.list_definitions(graph, target)}
        for column, name in self.attribute_fields(header or []):
            if name not in self.attribute_types:
                defined = ", ".join(sorted(self.attribute_types)) or "none yet"
                raise FileProblem(self.path or Path("mapping"),
                                  f"column {column!r} fills the {target} attribute {name!r}, which is not defined "
                                  f"(PUT /v1/attributes/{target}/{name} defines it; defined: {defined})")

    def field_name(self, column: str) -> str | None:
        return self.columns.get(column, column)

    def record(self, row: dict[str, Any]) -> dict[str, Any]:
        record, filled = {}, {}
        for column, value in row.items():
            name = self.field_name(column)
            if name is None or value is None or (isinstance(value, str) and not value.strip()):
                continue
            if name.startswith(ATTRIBUTE_FIELD):
                attribute = name[len(ATTRIBUTE_FIELD):]
                filled[attribute] = self._coerce_attribute(attribute, value)
            else:
                record[name] = self._coerce(name, value)
        if filled:
            # Beside a JSON line's own `attributes` object (an object of another shape is left to the sync's check).
            given = record.get("attributes", {})
            record["attributes"] = {**given, **filled} if isinstance(given, dict) else given
        return record

    def _coerce_attribute(self, name: str, value: Any) -> Any:
        """A text value as the attribute's type reads it; text that does not read as that type is sent as it is,
        so the sync's check refuses the row naming `attributes.NAME` and saying what is wrong."""
        if not isinstance(value, str):
            return value
        kind, text = (self.attribute_types or {}).get(name), value.strip()
        if kind == "integer" and _INTEGER.fullmatch(text):
            return int(text)
        if kind == "number" and _NUMBER.fullmatch(text):
            return int(text) if _INTEGER.fullmatch(text) else float(text)
        if kind == "boolean" and text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        if kind == "tags":
            return [part.strip() for part in value.split(self.separator) if part.strip()]
        return value

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


def _yaml_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    text = ": ".join(part for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part)
    text = text or str(exc)
    if mark is not None:
        text += f" (column {mark.column + 1})"
    return " ".join(text.split())


@dataclass(frozen=True)
class FileFormat:
    """How to read the file: its text encoding and, for CSV, the delimiter (None: sniffed from the header)."""

    encoding: str = "utf-8"
    delimiter: str | None = None


@dataclass(frozen=True)
class Row:
    """One record of the file: the line it starts on, its fields, or why it cannot be a record."""

    line: int
    fields: dict[str, Any]
    error: str | None = None


def read_rows(path: Path, fmt: FileFormat = FileFormat()) -> Iterator[Row]:
    """The records of a .csv file (header line first) or of a JSON-lines file (.jsonl, .ndjson)."""
    with _text(path, fmt.encoding) as handle:
        if path.suffix.lower() in JSON_LINES:
            yield from _json_rows(handle)
        else:
            yield from _csv_rows(path, handle, fmt.delimiter or sniff_delimiter(handle))


@contextmanager
def _text(path: Path, encoding: str) -> Iterator[Any]:
    """The file as text; a byte that is not in the encoding is a FileProblem naming its line."""
    # utf-8-sig reads UTF-8 with or without the byte-order mark that Excel writes.
    codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    try:
        with path.open(encoding=codec, newline="") as handle:
            yield handle
    except UnicodeDecodeError as exc:
        raise _decoding_problem(path, encoding, exc) from None


def _decoding_problem(path: Path, encoding: str, exc: UnicodeDecodeError) -> FileProblem:
    hint = ("pass --encoding with the file's encoding, e.g. --encoding cp1252 (saved by Excel on Windows) or "
            "--encoding latin-1")
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return FileProblem(path, f"not {encoding}: the file starts with a UTF-16 byte-order mark; "
                                 "pass --encoding utf-16")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as bad:
                return FileProblem(path, f"not {encoding} text (byte 0x{raw[bad.start]:02X} at column "
                                         f"{bad.start + 1}); {hint}", number)
    return FileProblem(path, f"not {encoding} text ({exc.reason}); {hint}")


def sniff_delimiter(handle) -> str:
    """The delimiter of the header line (csv.Sniffer over ',;<tab>|'), ',' when it has a single column."""
    header = handle.readline()
    handle.seek(0)
    try:
        return csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _json_rows(handle) -> Iterator[Row]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Row(number, {}, f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        if isinstance(value, dict):
            yield Row(number, value)
        else:
            yield Row(number, {}, f"a JSON {type(value).__name__} where a record (an object) was expected")


def _csv_rows(path: Path, handle, delimiter: str) -> Iterator[Row]:
    # strict: a quote must close a field and be followed by the delimiter or the line's end, so a quote
    # left open is an error instead of a field that swallows the rows after it.
    reader = csv.reader(handle, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
    header = _header(path, reader)
    end = reader.line_num
    while True:
        start = end + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _quoting_problem(path, exc, start, reader.line_num) from None
        end = reader.line_num
        if not any(value.strip() for value in values):  # a blank line, or one of empty fields only
            continue
        if len(values) != len(header):
            raise _width_problem(path, len(values), len(header), start, end, delimiter)
        yield Row(start, dict(zip(header, values)))


def _header(path: Path, reader) -> list[str]:
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _quoting_problem(path, exc, 1, reader.line_num) from None
    if not header:
        raise FileProblem(path, "the file is empty; a CSV file starts with a header line naming its columns")
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name.strip():
            raise FileProblem(path, f"column {position} of the header has no name", 1)
        if name in seen:
            raise FileProblem(path, f"column {name!r} appears twice (columns {seen[name]} and {position})", 1)
        seen[name] = position
    return header


def _quoting_problem(path: Path, exc: csv.Error, start: int, end: int) -> FileProblem:
    if "unexpected end of data" in str(exc):
        return FileProblem(path, "a quoted field opened on this line is never closed (the file ends inside it)",
                           start)
    where = f" (noticed on line {end})" if end > start else ""
    return FileProblem(path, f"badly quoted field: {exc}{where}; a field that starts with a quote must end with "
                             "one followed by the delimiter or the line's end, and a quote inside it is doubled",
                       start)


def _width_problem(path: Path, width: int, expected: int, start: int, end: int, delimiter: str) -> FileProblem:
    message = f"{width} fields where the header has {expected} (delimiter {_shown(delimiter)})"
    if end > start:
        message += f"; this record runs to line {end}: is a quote on line {start} left open?"
    return FileProblem(path, message, start)


def _shown(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


@dataclass(frozen=True)
class Inspection:
    rows: int
    delimiter: str | None
    header: list[str] | None = None   # a CSV file's columns (None: JSON lines)


def inspect_file(path: Path, fmt: FileFormat, mapping: Mapping, resource: str) -> Inspection:
    """Read the whole file once before importing: how many rows, and a FileProblem if it is not well-formed."""
    delimiter = header = None
    if path.suffix.lower() not in JSON_LINES:
        with _text(path, fmt.encoding) as handle:
            delimiter = fmt.delimiter or sniff_delimiter(handle)
            header = _header(path, csv.reader(handle, delimiter=delimiter, strict=True))
        _check_columns(path, header, mapping, resource, delimiter)
    rows = sum(1 for _ in read_rows(path, FileFormat(fmt.encoding, delimiter)))
    return Inspection(rows, delimiter, header)


def _check_columns(path: Path, header: list[str], mapping: Mapping, resource: str, delimiter: str) -> None:
    for column in header:
        name = mapping.field_name(column)
        problem = None if name is None else field_problem(name, resource)
        if problem is None:
            continue
        if name != column:  # renamed by --map (which Mapping.check has refused already when run first)
            raise FileProblem(path, f"column {column!r} maps to {name!r}, which {problem}", 1)
        others = [d for d in DELIMITERS if d != delimiter and d in column]
        hint = (f"; the file may be separated by {_shown(others[0])}: pass --delimiter" if others else
                f"; rename it in --map (columns: {{{column}: <field>}}, or attributes.NAME for a custom "
                f"attribute) or drop it ({column}: ~)")
        raise FileProblem(path, f"column {column!r} {problem}{hint}", 1)


@dataclass
class ImportState:
    """Progress saved beside the file: which file (by content hash), what, and how many rows are done."""

    path: Path
    fingerprint: str
    resource: str
    source: str
    rows_done: int = 0
    complete: bool = False
    rejected: int = 0               # rows rejected over this import's runs
    imported_before: bool = False   # opened complete: this run imports nothing (--restart starts again)

    @classmethod
    def open(cls, data_file: Path, resource: str, source: str) -> "ImportState":
        """Where an import of the file stands: after the rows a crashed or stopped run committed, or complete
        (run again, it imports nothing and says so: sending the file again could undo corrections made since;
        --restart does that on purpose)."""
        state_path = data_file.with_name(data_file.name + ".netweave-import.json")
        fingerprint = _file_hash(data_file)
        if state_path.exists():
            saved = json.loads(state_path.read_text(encoding="utf-8"))
            if (saved.get("fingerprint"), saved.get("resource"), saved.get("source")) == (fingerprint, resource,
                                                                                           source):
                complete = saved.get("complete", False)
                return cls(state_path, fingerprint, resource, source, saved.get("rows_done", 0), complete,
                           saved.get("rejected", 0), imported_before=complete)
        return cls(state_path, fingerprint, resource, source)

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "resource": self.resource, "source": self.source,
                                   "rows_done": self.rows_done, "complete": self.complete,
                                   "rejected": self.rejected}), encoding="utf-8")
        tmp.replace(self.path)


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# The sync names records by their index in the batch; the file's reader knows them by line.
_BATCH_INDEX = re.compile(r"\bat index (\d+)")


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=lambda: {status: 0 for status in STATUSES})
    errors: list[dict[str, Any]] = field(default_factory=list)
    rows_skipped: int = 0
    batches: int = 0
    new_values: dict[str, set[str]] = field(default_factory=dict)   # field -> values new to its vocabulary

    def add(self, rows: list[Row], records: list[dict[str, Any]], outcome: dict[str, Any]) -> None:
        """The sync's answer for `records` (made from `rows`, in order), with errors named by line."""
        for result in outcome["results"]:
            for name, value in result.get("new_values", {}).items():
                self.new_values.setdefault(name, set()).add(value)
            if result["status"] != "error":
                self.counts[result["status"]] += 1
                continue
            problems = result["error"].get("errors") or []
            detail = "; ".join(f"{item['field']}: {' '.join(item['messages'])}" for item in problems)
            detail = _BATCH_INDEX.sub(lambda m: f"on line {rows[int(m.group(1))].line}", detail)
            self.reject(rows[result["index"]], detail or result["error"]["detail"], result["external_id"],
                        " ".join(item["field"] for item in problems), records[result["index"]])

    def reject(self, row: Row, detail: str, external_id: str | None = None, fields: str = "",
               record: Any = None) -> None:
        self.counts["error"] += 1
        self.errors.append({"line": row.line, "external_id": external_id or "", "fields": fields,
                            "detail": f"line {row.line}: {detail}",
                            "record": json.dumps(record if record is not None else row.fields, default=str)})


def run_import(graph: db.Graph, data_file: Path, *, resource: str, source: str, mapping: Mapping,
               fmt: FileFormat = FileFormat(), batch_size: int = 500, max_batches: int | None = None,
               restart: bool = False, on_batch=lambda done, report: None) -> tuple[Report, ImportState]:
    """Import the file in batches, resuming after the rows a previous run committed."""
    if not 1 <= batch_size <= MAX_RECORDS:
        raise ValueError(f"batch size must be 1-{MAX_RECORDS}")
    if mapping.attribute_types is None:
        mapping.bind_attributes(graph, resource)
    state = ImportState.open(data_file, resource, source)
    if restart:
        state.rows_done, state.complete, state.rejected, state.imported_before = 0, False, 0, False
    report = Report(rows_skipped=state.rows_done)
    if state.complete:
        return report, state
    batch: list[Row] = []
    for number, row in enumerate(read_rows(data_file, fmt)):
        if number < state.rows_done:
            continue
        batch.append(row)
        if len(batch) == batch_size:
            _commit(graph, state, report, batch, resource, source, mapping, on_batch)
            batch = []
            if max_batches is not None and report.batches >= max_batches:
                return report, state
    if batch:
        _commit(graph, state, report, batch, resource, source, mapping, on_batch)
    state.complete = True
    state.save()
    return report, state


def _commit(graph, state, report, rows, resource, source, mapping, on_batch) -> None:
    errors_before = report.counts["error"]
    readable = [row for row in rows if row.error is None]
    records = [mapping.record(row.fields) for row in readable]
    if records:
        report.add(readable, records, sync.sync(graph, resource, source, records, atomic=False))
    for row in rows:
        if row.error is not None:
            report.reject(row, row.error)
    report.batches += 1
    state.rows_done += len(rows)
    state.rejected += report.counts["error"] - errors_before
    state.save()
    on_batch(state.rows_done, report)


ERROR_COLUMNS = ["line", "external_id", "fields", "detail", "record"]


def write_error_report(path: Path, report: Report) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ERROR_COLUMNS)
        writer.writeheader()
        writer.writerows(sorted(report.errors, key=lambda error: error["line"]))
