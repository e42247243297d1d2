"""An import's file, kept in the database in pieces so that any server process can run it."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.imports import ImportUploadChunk

CHUNK_BYTES = 1024 * 1024
CHUNKS_PER_STATEMENT = 8


def _read(stream: BinaryIO) -> list[bytes]:
    chunks: list[bytes] = []
    while len(chunks) < CHUNKS_PER_STATEMENT and (chunk := stream.read(CHUNK_BYTES)):
        chunks.append(chunk)
    return chunks


async def keep(session: AsyncSession, job_id: int, path: Path) -> None:
    """Store the file for the job, in the caller's transaction."""
    seq = 0
    with path.open("rb") as stream:
        while chunks := await asyncio.to_thread(_read, stream):
            rows = [{"job_id": job_id, "seq": seq + i, "data": c} for i, c in enumerate(chunks)]
            await session.execute(insert(ImportUploadChunk), rows)
            seq += len(chunks)


def _new_file(folder: Path, job_id: int) -> tuple[BinaryIO, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=folder, prefix=f"job-{job_id}-", suffix=".csv")
    return open(handle, "wb"), Path(name)


async def fetch(session: AsyncSession, job_id: int, folder: Path) -> Path:
    """The job's file, written to a new file in `folder` (the caller deletes it)."""
    out, path = await asyncio.to_thread(_new_file, folder, job_id)
    seq = 0
    with out:
        while True:
            query = (
                select(ImportUploadChunk.seq, ImportUploadChunk.data)
                .where(ImportUploadChunk.job_id == job_id, ImportUploadChunk.seq >= seq)
                .order_by(ImportUploadChunk.seq)
                .limit(CHUNKS_PER_STATEMENT)
            )
            rows = (await session.execute(query)).all()
            await session.commit()
            if not rows:
                return path
            await asyncio.to_thread(out.writelines, [row.data for row in rows])
            seq = rows[-1].seq + 1


async def drop(session: AsyncSession, job_id: int) -> None:
    """Forget the file (in the caller's transaction): the job is over."""
    await session.execute(delete(ImportUploadChunk).where(ImportUploadChunk.job_id == job_id))
