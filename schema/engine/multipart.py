"""The GraphQL multipart request spec: `operations`, `map`, then the files, streamed to disk.

https://github.com/jaydenseric/graphql-multipart-request-spec. Files go straight to a file
in the upload directory as their bytes arrive; the whole body has its own size limit.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import orjson
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_FIELD_BYTES = 1024 * 1024  # operations and map


class UploadError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.headers: dict[str, str] = {}


@dataclass(slots=True)
class UploadedFile:
    """The value an `Upload` variable holds: a file on disk, removed after the request
    unless a resolver took it (moved it away)."""

    path: Path
    filename: str | None
    content_type: str | None
    size: int = 0


@dataclass(slots=True)
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str | None = None
    data: bytearray = field(default_factory=bytearray)
    file: Any = None
    upload: UploadedFile | None = None


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


class _Reader:
    def __init__(self, upload_dir: Path) -> None:
        self.upload_dir = upload_dir
        self.fields: dict[str, bytes] = {}
        self.files: dict[str, UploadedFile] = {}
        self.part = _Part()
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field_data,
            "on_header_value": self.header_value_data,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self.part = _Part()
        self.headers = {}

    def header_field_data(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def header_value_data(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = self.header_value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.part.name = options.get(b"name", b"").decode("latin-1")
        filename = options.get(b"filename")
        if filename is not None:
            self.part.filename = filename.decode("utf-8", errors="replace")
            self.part.content_type = self.headers.get(b"content-type", b"").decode("latin-1")
            self.upload_dir.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=self.upload_dir, suffix=".upload")
            self.part.file = os.fdopen(handle, "wb")
            self.part.upload = UploadedFile(
                Path(name), self.part.filename, self.part.content_type or None
            )
            self.files[self.part.name] = self.part.upload

    def part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        if part.file is not None:
            part.file.write(data[start:end])
            assert part.upload is not None
            part.upload.size += end - start
        else:
            part.data += data[start:end]
            if len(part.data) > MAX_FIELD_BYTES:
                raise UploadError(f"Field {part.name!r} is over {MAX_FIELD_BYTES} bytes.", 413)

    def part_end(self) -> None:
        if self.part.file is not None:
            self.part.file.close()
        else:
            self.fields[self.part.name] = bytes(self.part.data)

    def discard(self) -> None:
        if self.part.file is not None:
            self.part.file.close()
        for upload in self.files.values():
            upload.path.unlink(missing_ok=True)


async def read_operation(
    request: Request, *, upload_dir: Path, max_bytes: int
) -> tuple[dict[str, Any], list[UploadedFile]]:
    """The operation's JSON body with each mapped variable replaced by its UploadedFile."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise UploadError(f"Upload over {max_bytes} bytes.", 413)
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise UploadError("multipart/form-data needs a boundary.")
    reader = _Reader(upload_dir)
    parser = MultipartParser(boundary, cast("MultipartCallbacks", reader.callbacks()))
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise UploadError(f"Upload over {max_bytes} bytes.", 413)
            parser.write(chunk)
        parser.finalize()
        return _operations(reader), list(reader.files.values())
    except Exception:
        reader.discard()
        raise


def _operations(reader: _Reader) -> dict[str, Any]:
    try:
        operations = orjson.loads(reader.fields["operations"])
        mapping = orjson.loads(reader.fields.get("map", b"{}"))
    except (KeyError, orjson.JSONDecodeError):
        raise UploadError("A multipart request needs 'operations' and 'map' JSON.") from None
    if not isinstance(operations, dict) or not isinstance(mapping, dict):
        raise UploadError("'operations' and 'map' must be JSON objects.")
    for name, paths in mapping.items():
        upload = reader.files.get(name)
        if upload is None or not isinstance(paths, list):
            raise UploadError(f"The map names file {name!r}, which was not sent.")
        for path in paths:
            _place(operations, str(path), upload)
    return operations


def _place(operations: dict[str, Any], path: str, upload: UploadedFile) -> None:
    *parents, last = path.split(".")
    target: Any = operations
    try:
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = upload
        elif isinstance(target, dict) and last in target:
            target[last] = upload
        else:
            raise KeyError(path)
    except (KeyError, IndexError, ValueError, TypeError):
        raise UploadError(f"The map path {path!r} is not in the operations.") from None


def cleanup(files: list[UploadedFile]) -> None:
    """Remove the files no resolver took."""
    for upload in files:
        with contextlib.suppress(FileNotFoundError):
            upload.path.unlink()
