"""`accountflow import` and `accountflow export`: the same runner and exports as the API."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, TextIO

import orjson

from app import db
from app.errors import AppError
from app.imports.csvfile import COLUMNS_SKIPPED
from app.imports.export import export_query, stream_csv
from app.imports.runner import Progress, run_import
from app.kit.actor import SYSTEM
from app.models.imports import ImportKind, ImportMode

MAX_PRINTED_ERRORS = 100


class ProgressBar:
    """A one-line bar on stderr, redrawn after every batch."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.started = time.perf_counter()
        self.printed = 0

    async def __call__(self, progress: Progress) -> None:
        total = progress.total_rows or 0
        done = progress.processed_rows
        filled = int(self.width * done / total) if total else self.width
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done:,}/{total:,} rows"
            f"  {rate:,.0f} rows/s  {progress.rejected:,} rejected"
        )
        self.stream.flush()
        for error in progress.errors:
            if error.code == COLUMNS_SKIPPED:
                self.stream.write(f"\nwarning: {error.message}")
                continue
            if self.printed < MAX_PRINTED_ERRORS:
                column = f", column {error.column}" if error.column else ""
                self.stream.write(f"\nrow {error.row}{column}: {error.code} {error.message}")
            self.printed += 1
        if progress.errors:
            self.stream.write("\n")


async def import_file(
    url: str,
    *,
    kind: ImportKind,
    path: Path,
    mapping: dict[str, str | None],
    mode: ImportMode,
    dry_run: bool,
    ignore_unknown_columns: bool = False,
    stderr: TextIO | None = None,
) -> Progress:
    stderr = stderr or sys.stderr  # read at call time: tests and callers may swap it
    engine = db.create_engine(url)
    try:
        async with db.create_sessionmaker(engine)() as session:
            bar = ProgressBar(stderr)
            result = await run_import(
                session,
                actor=SYSTEM,
                kind=kind,
                path=path,
                mapping=mapping,
                mode=mode,
                dry_run=dry_run,
                report=bar,
                ignore_unknown_columns=ignore_unknown_columns,
            )
            elapsed = time.perf_counter() - bar.started
    finally:
        await engine.dispose()
    outcome = "failed, nothing written" if result.failed else "done"
    if dry_run:
        outcome += " (dry run, nothing written)"
    stderr.write(
        f"\n{outcome}: {result.created:,} created, {result.updated:,} updated, "
        f"{result.unchanged:,} unchanged, {result.rejected:,} rejected in {elapsed:.1f} s\n"
    )
    return result


async def export_kind(url: str, *, kind: ImportKind, filter: Any, out: Any) -> int:
    """Write the CSV to `out` (a binary stream); returns the bytes written."""
    query = export_query(kind, filter)
    engine = db.create_engine(url)
    written = 0
    try:
        async for chunk in stream_csv(engine, kind, query):
            out.write(chunk)
            written += len(chunk)
    finally:
        await engine.dispose()
    out.flush()
    return written


def parse_json_option(raw: str | None, what: str) -> Any:
    if raw is None:
        return None
    text = Path(raw).read_text() if what == "mapping" else raw
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise AppError(f"--{what} is not valid JSON.", field=what) from None
