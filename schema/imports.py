"""CSV imports over GraphQL: startImport takes an upload and returns a job to poll."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Self

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from app.errors import InvalidInputError
from app.imports import jobs
from app.models.imports import ImportJob as JobModel
from app.models.imports import ImportKind, ImportMode, ImportStatus
from app.models.imports import ImportRowError as RowErrorModel
from schema import permissions
from schema.context import Context, Info
from schema.engine.multipart import UploadedFile
from schema.errors import UserError
from schema.relay import Connection, Node, list_connection, page_args, register_node, to_global_id

for _enum in (ImportKind, ImportMode, ImportStatus):
    strawberry.enum(_enum)


@strawberry.type
class ImportRowError:
    row: int
    column: str | None
    code: str
    message: str

    @classmethod
    def from_model(cls, row: RowErrorModel) -> Self:
        return cls(row=row.row, column=row.column, code=row.code, message=row.message)


@strawberry.type
class ImportJob(Node):
    kind: ImportKind
    status: ImportStatus
    mode: ImportMode
    dry_run: bool
    total_rows: int | None
    processed_rows: int
    created_count: int
    updated_count: int
    rejected_count: int
    started_at: datetime | None
    finished_at: datetime | None
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: JobModel) -> Self:
        return cls(
            id=to_global_id("ImportJob", row.id),
            pk=row.id,
            kind=row.kind,
            status=row.status,
            mode=row.mode,
            dry_run=row.dry_run,
            total_rows=row.total_rows,
            processed_rows=row.processed_rows,
            created_count=row.created_count,
            updated_count=row.updated_count,
            rejected_count=row.rejected_count,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )

    @strawberry.field
    async def row_errors(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ImportRowError]:
        args = page_args(info, first, after)
        page, total = await info.context.loader(jobs.row_error_pages).load((self.pk, args))
        return list_connection(page, ImportRowError.from_model, total)


async def load_job(context: Context, pk: int) -> ImportJob | None:
    row = await context.loader(jobs.jobs_by_id).load(pk)
    return None if row is None else ImportJob.from_model(row)


register_node("ImportJob", "import.read", load_job)


@strawberry.input
class StartImportInput:
    kind: ImportKind
    file: Upload
    mapping: JSON | None = None
    mode: ImportMode = ImportMode.ALL_OR_NOTHING
    dry_run: bool = False
    ignore_unknown_columns: bool = strawberry.field(
        default=False,
        description="Skip the columns no field matches and the mapping does not name, instead"
        " of refusing the file; rowErrors names them once (row 1, COLUMNS_SKIPPED).",
    )


@strawberry.type
class ImportJobPayload:
    job: ImportJob | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("import.run")
    async def start_import(self, info: Info, input: StartImportInput) -> ImportJobPayload:
        upload = input.file
        if not isinstance(upload, UploadedFile):
            raise InvalidInputError("Send the file as a multipart upload.", field="file")
        context = info.context
        row = await jobs.create_job(
            context.session,
            actor=context.actor,
            kind=input.kind,
            mode=input.mode,
            dry_run=input.dry_run,
            mapping=input.mapping,
            upload=Path(upload.path),
            ignore_unknown_columns=input.ignore_unknown_columns,
        )
        engine = context.session.bind
        context.after_commit.append(lambda: jobs.wake(engine))
        return ImportJobPayload(job=ImportJob.from_model(row))
