"""CSV records streamed from a file: BOM, `,` or `;`, quoted newlines, per-row errors.

A record is cut at a line end where its quotes balance, then parsed alone, so one broken
row (a stray quote, a bad byte, a wrong field count) is reported without losing the rest.
Rows are numbered as a spreadsheet shows them: the header is row 1. A cell our exports
quoted against formula injection (`'=…`) is read as it was stored (app.kit.csv_cells).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from app.kit.csv_cells import restore

BOM = b"\xef\xbb\xbf"
DELIMITERS = (",", ";")
COLUMNS_SKIPPED = "COLUMNS_SKIPPED"  # a notice, not an error: it fails and rejects nothing


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str | None
    code: str
    message: str


@dataclass(slots=True)
class Row:
    number: int
    values: dict[str, str | None]


@dataclass(slots=True)
class Header:
    columns: list[str | None]  # the field each position fills; None when it fills none
    delimiter: str
    errors: list[RowError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unknown columns, left out as asked

    def notices(self) -> list[RowError]:
        """One notice naming every unknown column that was skipped (none when none was)."""
        if not self.skipped:
            return []
        names = ", ".join(repr(name) for name in self.skipped)
        message = f"Skipped {len(self.skipped)} column(s) the mapping does not name: {names}."
        return [RowError(1, None, COLUMNS_SKIPPED, message)]


class _Feed:
    """One record at a time into a single csv.reader (its state resets at every row)."""

    def __init__(self) -> None:
        self.text: str | None = None

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        text, self.text = self.text, None
        if text is None:
            raise StopIteration
        return text


def raw_records(stream: BinaryIO) -> Iterator[bytes]:
    pending: list[bytes] = []
    quotes = 0
    for line in stream:
        pending.append(line)
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            yield b"".join(pending)
            pending, quotes = [], 0
    if pending:
        yield b"".join(pending)


def sniff(header: str) -> str:
    return max(DELIMITERS, key=header.count)


def read_header(
    raw: bytes,
    *,
    known: Mapping[str, str],
    mapping: Mapping[str, str | None],
    required: set[str],
    ignore_unknown: bool = False,
) -> Header:
    """Match the header's names to fields: renamed by `mapping` (None: skip the column),
    then case-insensitively. An unknown column is an error, or skipped when `ignore_unknown`
    and the mapping does not name it."""
    text = raw.removeprefix(BOM).decode("utf-8", errors="replace")
    delimiter = sniff(text.splitlines()[0] if text else "")
    names = next(csv.reader([text], delimiter=delimiter), [])
    renames = {k.strip().lower(): v for k, v in mapping.items()}
    header = Header(columns=[], delimiter=delimiter)
    for name in names:
        header.columns.append(_place(header, name, known, renames, ignore_unknown))
    for missing in sorted(required - {c for c in header.columns if c}):
        header.errors.append(
            RowError(1, missing, "MISSING_COLUMN", f"Column {missing!r} is needed.")
        )
    return header


def _place(
    header: Header,
    name: str,
    known: Mapping[str, str],
    renames: Mapping[str, str | None],
    ignore_unknown: bool,
) -> str | None:
    """The field the column `name` fills; None when it fills none (skipped, or an error)."""
    key = name.strip().lower()
    if key in renames and renames[key] is None:
        return None
    column = known.get((renames.get(key) or name.strip()).lower())
    if column is None:
        if ignore_unknown and key not in renames:
            header.skipped.append(name)
        else:
            header.errors.append(RowError(1, name, "UNKNOWN_COLUMN", f"Unknown column {name!r}."))
        return None
    if column in header.columns:
        header.errors.append(RowError(1, name, "DUPLICATE_COLUMN", f"{name!r} appears twice."))
        return None
    return column


class RowReader:
    def __init__(self, header: Header) -> None:
        self.header = header
        self.feed = _Feed()
        self.reader = csv.reader(self.feed, delimiter=header.delimiter, strict=True)
        self.other = next(d for d in DELIMITERS if d != header.delimiter)

    def parse(self, number: int, raw: bytes) -> Row | RowError | None:
        try:
            text, dirty = raw.decode("utf-8"), False
        except UnicodeDecodeError:
            text, dirty = raw.decode("utf-8", errors="surrogateescape"), True
        self.feed.text = text
        try:
            fields = next(self.reader, None)
        except csv.Error as error:
            return RowError(number, None, "BROKEN_QUOTE", f"Unreadable row: {error}.")
        if not fields:
            return None  # a blank line
        columns = self.header.columns
        if len(fields) != len(columns):
            return self._count_error(number, fields, text)
        if dirty and not any(_has_surrogate(v) for c, v in zip(columns, fields, strict=True) if c):
            return RowError(number, None, "NOT_UTF8", "The row is not valid UTF-8.")
        values: dict[str, str | None] = {}
        for column, value in zip(columns, fields, strict=True):
            if column is None:
                continue
            if dirty and _has_surrogate(value):
                return RowError(number, column, "NOT_UTF8", "The value is not valid UTF-8.")
            values[column] = restore(value) if value != "" else None  # an export's quoting
        return Row(number, values)

    def _count_error(self, number: int, fields: list[str], text: str) -> RowError:
        columns = self.header.columns
        if len(fields) == 1 and self.other in text:
            return RowError(
                number,
                columns[0],
                "WRONG_DELIMITER",
                f"The row is split by {self.other!r}; the header by {self.header.delimiter!r}.",
            )
        if len(fields) > len(columns):
            return RowError(
                number,
                f"#{len(columns) + 1}",
                "TOO_MANY_FIELDS",
                f"{len(fields)} fields; the header has {len(columns)}.",
            )
        return RowError(
            number,
            columns[len(fields)],
            "TOO_FEW_FIELDS",
            f"{len(fields)} fields; the header has {len(columns)}.",
        )


def _has_surrogate(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def records(
    stream: BinaryIO,
    *,
    known: Mapping[str, str],
    mapping: Mapping[str, str | None],
    required: set[str],
    ignore_unknown: bool = False,
) -> tuple[Header, Iterator[Row | RowError]]:
    """The header, and the rows after it (each parsed, or the error that stops it)."""
    raws = raw_records(stream)
    first = next(raws, b"")
    header = read_header(
        first, known=known, mapping=mapping, required=required, ignore_unknown=ignore_unknown
    )

    def rows() -> Iterator[Row | RowError]:
        reader = RowReader(header)
        for number, raw in enumerate(raws, start=2):
            parsed = reader.parse(number, raw)
            if parsed is not None:
                yield parsed

    return header, rows()
