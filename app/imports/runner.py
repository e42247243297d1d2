"""One import run: stream the file, check each row, write batches, report progress.

ALL_OR_NOTHING runs in one transaction and commits only when no row failed; SKIP_INVALID
commits batch by batch. A dry run does all the work and rolls it back. A batch that the
database refuses as a whole is retried row by row (each under a savepoint) so the one bad
row is named and the others are kept.

A `checkpoint` runs inside the transaction before each commit, so what it records (a job's
progress) commits with the rows or not at all; a run resumed from it skips the rows it
covers and goes on, so no committed row is written twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AppError
from app.imports.base import BatchResult, Importer, Item, known_columns, row_errors
from app.imports.csvfile import Row, RowError, raw_records, records
from app.imports.kinds import importer_for
from app.imports.values import CellError
from app.kit.actor import Actor
from app.models.imports import ImportKind, ImportMode

BATCH_SIZE = 1000


@dataclass(slots=True)
class Progress:
    total_rows: int | None = None
    processed_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)  # since the last report
    failed: bool = False

    @property
    def succeeded(self) -> bool:
        return not self.failed


ProgressFn = Callable[[Progress], Awaitable[None]]
# (the import's session, the tally so far, whether this is the last commit)
CheckpointFn = Callable[[AsyncSession, Progress, bool], Awaitable[None]]


async def _nothing(progress: Progress) -> None:
    return None


def count_rows(path: Path) -> int:
    """Data rows in the file (records after the header), read fast without parsing."""
    with path.open("rb") as stream:
        return max(sum(1 for raw in raw_records(stream) if raw.strip()) - 1, 0)


@dataclass(slots=True)
class _Run:
    session: AsyncSession
    actor: Actor
    importer: Importer
    mode: ImportMode
    dry_run: bool
    report: ProgressFn
    progress: Progress
    checkpoint: CheckpointFn | None = None
    seen: set[Hashable] = field(default_factory=set)
    batch: list[Item] = field(default_factory=list)
    rows_in_batch: int = 0

    @property
    def writing(self) -> bool:
        # All or nothing: after the first bad row nothing more is written (it would be
        # rolled back); the rows are still checked so the report names every bad one.
        return self.mode is ImportMode.SKIP_INVALID or not (
            self.progress.rejected or self.progress.failed
        )

    def reject(self, errors: list[RowError]) -> None:
        rows = {e.row for e in errors}
        self.progress.rejected += len(rows)
        self.progress.errors.extend(errors)

    @property
    def commits_batches(self) -> bool:
        return self.mode is ImportMode.SKIP_INVALID and not self.dry_run

    def skip(self, parsed: Row | RowError) -> None:
        """A row an earlier run committed: only remembered, so later repeats are caught."""
        if isinstance(parsed, Row):
            try:
                key = self.importer.key(self.importer.clean(parsed))
            except (CellError, AppError):
                return
            if key is not None:
                self.seen.add(key)

    def take(self, parsed: Row | RowError) -> None:
        self.rows_in_batch += 1
        if isinstance(parsed, RowError):
            self.reject([parsed])
            return
        try:
            data = self.importer.clean(parsed)
        except (CellError, AppError) as error:
            self.reject(row_errors(parsed.number, error, self.importer.columns))
            return
        key = self.importer.key(data)
        if key is not None:
            if key in self.seen:
                column = str(key[0]) if isinstance(key, tuple) else None
                self.reject(
                    [
                        RowError(
                            parsed.number, column, "DUPLICATE_IN_FILE", "Repeats an earlier row."
                        )
                    ]
                )
                return
            self.seen.add(key)
        self.batch.append(Item(parsed.number, data))

    async def flush(self) -> None:
        items, self.batch = self.batch, []
        if items and self.writing:
            result = await self._write(items)
            self.progress.created += result.created
            self.progress.updated += result.updated
            self.progress.unchanged += result.unchanged
            self.reject(result.errors)
        self.progress.processed_rows += self.rows_in_batch
        self.rows_in_batch = 0
        if self.commits_batches:
            await self.commit(final=False)
        await self.report(self.progress)
        self.progress.errors = []

    async def commit(self, *, final: bool) -> None:
        if self.checkpoint is not None:
            await self.checkpoint(self.session, self.progress, final)
            self.progress.errors = []  # recorded by the checkpoint: not reported again
        await self.session.commit()

    async def _write(self, items: list[Item]) -> BatchResult:
        try:
            async with self.session.begin_nested():
                return await self.importer.write(self.session, self.actor, items)
        except (AppError, DBAPIError):
            pass
        result = BatchResult()
        for item in items:
            try:
                async with self.session.begin_nested():
                    result.add(await self.importer.write(self.session, self.actor, [item]))
            except AppError as error:
                result.errors.extend(row_errors(item.row, error, self.importer.columns))
            except DBAPIError as error:
                message = str(error.orig).splitlines()[0] if error.orig else "Refused."
                result.errors.append(RowError(item.row, None, "REJECTED", message))
        return result


async def run_import(
    session: AsyncSession,
    *,
    actor: Actor,
    kind: ImportKind,
    path: Path,
    mapping: Mapping[str, str | None] | None = None,
    mode: ImportMode = ImportMode.ALL_OR_NOTHING,
    dry_run: bool = False,
    report: ProgressFn = _nothing,
    checkpoint: CheckpointFn | None = None,
    resume: Progress | None = None,
    ignore_unknown_columns: bool = False,
) -> Progress:
    """Import the file; commits (or not) as the mode says. Returns the final tally.

    `resume`: what an earlier run of a SKIP_INVALID import committed (its checkpoint).
    `ignore_unknown_columns`: columns the mapping does not name and no field matches are
    skipped, named by one COLUMNS_SKIPPED notice among the errors, instead of refused.
    """
    importer = importer_for(kind)
    progress = Progress(total_rows=count_rows(path))
    skipped = 0
    if resume is not None and resume.processed_rows:
        skipped = resume.processed_rows
        progress = _resumed(resume, progress.total_rows)
    run = _Run(session, actor, importer, mode, dry_run, report, progress, checkpoint)
    with path.open("rb") as stream:
        header, rows = records(
            stream,
            known=known_columns(importer.columns),
            mapping=mapping or {},
            required=set(importer.required),
            ignore_unknown=ignore_unknown_columns,
        )
        if not skipped:  # a resumed run recorded them the first time
            progress.errors.extend(header.errors + header.notices())
        # An unknown column fails an all-or-nothing import; skip-invalid ignores it.
        progress.failed = bool(header.errors) and mode is ImportMode.ALL_OR_NOTHING
        if any(e.code == "MISSING_COLUMN" for e in header.errors):
            progress.failed = True
            await session.rollback()
            await report(progress)
            return progress
        await _run_rows(run, rows, skipped)
    progress.failed = progress.failed or (
        mode is ImportMode.ALL_OR_NOTHING and progress.rejected > 0
    )
    if dry_run or progress.failed:
        await session.rollback()
    else:
        await run.commit(final=True)
    return progress


async def _run_rows(run: _Run, rows: Iterable[Row | RowError], skipped: int) -> None:
    for number, parsed in enumerate(rows):
        if number < skipped:
            run.skip(parsed)
            continue
        run.take(parsed)
        if run.rows_in_batch >= BATCH_SIZE:
            await run.flush()
    await run.flush()


def _resumed(resume: Progress, total_rows: int | None) -> Progress:
    return Progress(
        total_rows=total_rows,
        processed_rows=resume.processed_rows,
        created=resume.created,
        updated=resume.updated,
        unchanged=resume.unchanged,
        rejected=resume.rejected,
    )
