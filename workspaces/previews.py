"""Table previews of a workspace's data files (CSV, TSV, Parquet): the first rows, the columns and their types.

A preview must stay cheap whatever the file: a 5 GB CSV is streamed and only its first rows parsed (the rows
after them are counted up to a byte budget, then the total is reported unknown); a Parquet file has its footer
read and only as many row groups as the first rows need, and files or row groups past a size cap are refused.
Files are opened with ``safe_walk.open_inside``: a tenant's symlink is never followed, not even one that stays
inside the workspace, since the terminal can swap it between a check and the open.
"""

from __future__ import annotations

import csv
import errno
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pyrun_web import safe_walk
from pyrun_web.errors import PyrunError
from workspaces import paths
from workspaces.paths import bad_path

MAX_ROWS = 1000
DEFAULT_ROWS = 100
MAX_COLUMNS = 500
MAX_CELL_CHARS = 1000
MAX_LINE_CHARS = 1024 * 1024
# The rows after the shown ones are counted only this far into a CSV: past it the total is unknown (None).
COUNT_BYTES = 32 * 1024 * 1024  # about a second of parsing
# Parquet: the footer and the first row group(s) are read; beyond these the preview is refused.
PARQUET_MAX_BYTES = 200 * 1024 * 1024
ROW_GROUP_MAX_BYTES = 128 * 1024 * 1024
# JavaScript numbers hold integers exactly only up to 2**53: larger ones are sent as text.
_SAFE_INTEGER = 2**53 - 1

FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class TablePreview:
    format: str
    columns: list[Column]
    rows: list[list[Any]]
    total_rows: int | None  # None: too large to count
    truncated: bool  # more rows (or columns) than shown


def format_of(rel: str) -> str | None:
    """``csv``, ``tsv`` or ``parquet`` from the file's extension; None when it has no table preview."""
    return FORMATS.get(Path(rel).suffix.lower())


def preview_table(root: Path, raw: str, rows: int = DEFAULT_ROWS) -> TablePreview:
    """The first ``rows`` (at most ``MAX_ROWS``) rows of the CSV, TSV or Parquet file ``raw`` below ``root``."""
    rel = paths.normalize(raw)
    if not rel:
        raise PyrunError("workspaces:user:is-a-folder", path=rel)
    kind = format_of(rel)
    if kind is None:
        raise PyrunError("workspaces:user:no-preview", path=rel, formats=", ".join(sorted(FORMATS)))
    rows = max(1, min(rows, MAX_ROWS))
    fileobj, st = _open(root, rel, raw)
    with fileobj:
        if kind == "parquet":
            return _parquet(fileobj, st.st_size, rel, rows)
        return _csv(fileobj, rel, rows, delimiter="\t" if kind == "tsv" else ",", kind=kind)


def _open(root: Path, rel: str, raw: str) -> tuple[BinaryIO, Any]:
    try:
        return safe_walk.open_inside(root, rel)
    except FileNotFoundError as exc:
        raise PyrunError("workspaces:user:no-such-path", path=rel) from exc
    except safe_walk.UnexpectedKind as exc:
        raise bad_path(raw, "it is not a regular file") from exc
    except OSError as exc:
        # A symlinked file is ELOOP; a symlinked folder on the way is ENOTDIR (O_DIRECTORY | O_NOFOLLOW).
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise bad_path(raw, "it is a symlink or passes through one (or a file stands where a folder is)") from exc
        raise


# --- CSV / TSV -------------------------------------------------------------------------------------------------


class _CountingReader(io.RawIOBase):
    """The file as a raw stream that counts the bytes read, so the row count can stop at ``COUNT_BYTES``."""

    def __init__(self, fileobj: BinaryIO) -> None:
        self._file = fileobj
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._file.read(len(buffer))
        buffer[: len(data)] = data
        self.consumed += len(data)
        return len(data)


def _csv(fileobj: BinaryIO, rel: str, rows: int, *, delimiter: str, kind: str) -> TablePreview:
    counted = _CountingReader(fileobj)
    # Invalid UTF-8 is shown as U+FFFD rather than refused: a Latin-1 export is still worth a look. A BOM is dropped.
    text = io.TextIOWrapper(io.BufferedReader(counted), encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(_lines(text), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return TablePreview(kind, [], [], 0, False)
        shown: list[list[Any]] = []
        for record in reader:
            if len(shown) == rows:
                break
            shown.append([_cell(value) for value in record[:MAX_COLUMNS]])
        else:
            return _csv_table(kind, header, shown, total=len(shown), more=False)
        total: int | None = len(shown) + 1  # the record that ended the loop
        for _ in _until(reader, counted):
            total += 1
        if counted.consumed >= COUNT_BYTES and text.read(1):
            total = None  # the budget ran out before the end of the file
        return _csv_table(kind, header, shown, total=total, more=True)
    except (csv.Error, UnicodeError, ValueError) as exc:
        raise PyrunError("workspaces:user:bad-preview", path=rel, format=kind.upper(), reason=str(exc)) from exc


def _lines(text: io.TextIOBase) -> Iterator[str]:
    """The file's lines, each at most ``MAX_LINE_CHARS`` long: a file without line breaks is never read whole."""
    while line := text.readline(MAX_LINE_CHARS):
        if len(line) == MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise ValueError(f"a line is longer than {MAX_LINE_CHARS:,} characters")
        yield line


def _until(reader: Iterator[list[str]], counted: _CountingReader) -> Iterator[list[str]]:
    for record in reader:
        yield record
        if counted.consumed >= COUNT_BYTES:
            return


def _csv_table(kind: str, header: list[str], shown: list[list[Any]], *, total: int | None, more: bool) -> TablePreview:
    width = max([len(header), *(len(row) for row in shown)]) if shown else len(header)
    names = [_cell(name) for name in header[:MAX_COLUMNS]]
    names += [f"column {i + 1}" for i in range(len(names), min(width, MAX_COLUMNS))]
    types = [_csv_type([row[i] if i < len(row) else "" for row in shown]) for i in range(len(names))]
    padded = [row + [""] * (len(names) - len(row)) for row in shown]
    return TablePreview(
        kind,
        [Column(name, type_) for name, type_ in zip(names, types, strict=True)],
        padded,
        total,
        more or len(header) > MAX_COLUMNS,
    )


def _csv_type(values: list[str]) -> str:
    """``integer``, ``number`` or ``string``, from the shown values (blank cells do not count)."""
    present = [value.strip() for value in values if value.strip()]
    if not present:
        return "string"
    for type_, parse in (("integer", int), ("number", float)):
        try:
            for value in present:
                parse(value)
        except ValueError:
            continue
        return type_
    return "string"


# --- Parquet ---------------------------------------------------------------------------------------------------


def _parquet(fileobj: BinaryIO, size: int, rel: str, rows: int) -> TablePreview:
    import pyarrow as pa  # imported here: only previews need it, and it is a large import
    import pyarrow.parquet as pq

    if size > PARQUET_MAX_BYTES:
        raise PyrunError("workspaces:user:preview-too-large", path=rel, size=size, limit=PARQUET_MAX_BYTES)
    try:
        parquet = pq.ParquetFile(fileobj)
        metadata = parquet.metadata
        schema = parquet.schema_arrow
        columns = [Column(field.name, str(field.type)) for field in schema][:MAX_COLUMNS]
        needed, counted = [], 0
        for index in range(metadata.num_row_groups):
            if counted >= rows:
                break
            group = metadata.row_group(index)
            if group.total_byte_size > ROW_GROUP_MAX_BYTES:
                raise PyrunError(
                    "workspaces:user:preview-too-large", path=rel, size=group.total_byte_size, limit=ROW_GROUP_MAX_BYTES
                )
            needed.append(index)
            counted += group.num_rows
        shown: list[list[Any]] = []
        if needed and columns:
            # By position, not name: Parquet allows two columns of one name.
            wanted = list(range(len(columns)))
            batch = next(parquet.iter_batches(batch_size=rows, row_groups=needed, columns=None), None)
            if batch is not None:
                values = [batch.column(i).to_pylist() for i in wanted]
                shown = [[_value(column[r]) for column in values] for r in range(min(rows, batch.num_rows))]
    except PyrunError:
        raise
    except (pa.ArrowException, OSError, ValueError, TypeError, KeyError, IndexError, NotImplementedError) as exc:
        raise PyrunError("workspaces:user:bad-preview", path=rel, format="Parquet", reason=str(exc)) from exc
    total = metadata.num_rows
    return TablePreview("parquet", columns, shown, total, total > len(shown) or len(schema) > MAX_COLUMNS)


def _value(value: Any) -> Any:
    """A Parquet cell as JSON: numbers and booleans as they are (unless JSON or JavaScript cannot hold them),
    everything else (dates, decimals, bytes, lists, structs) as capped text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) <= _SAFE_INTEGER else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        value = value[: MAX_CELL_CHARS * 4].decode("utf-8", errors="replace")
    return _cell(value if isinstance(value, str) else str(value))


def _cell(text: str) -> str:
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"
