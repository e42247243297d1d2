"""The GraphQL multipart request spec: `operations`, `map`, then the files, streamed to disk.

https://github.com/jaydenseric/graphql-multipart-request-spec. Files go straight to a file
in the upload directory as their bytes arrive; the whole body has its own size limit, the
form fields (and part headers), which are held in memory, one of their own in total. The
edge has checked the token before the body is read. Every file made is removed on every
way out but one: a request read whole hands its files to the endpoint (`cleanup`).
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
from starlette.requests import ClientDisconnect, Request

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_HEADER_BYTES = 16 * 1024  # one part's headers
MAX_PARTS = 100


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
    def __init__(self, upload_dir: Path, max_field_bytes: int) -> None:
        self.upload_dir = upload_dir
        self.max_field_bytes = max_field_bytes
        self.field_bytes = 0  # of every form field so far
        self.header_bytes = 0  # of the current part
        self.parts = 0
        self.fields: dict[str, bytes] = {}
        self.files: dict[str, UploadedFile] = {}
        self.made: list[Path] = []  # every file created, mapped or not
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
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise UploadError(f"More than {MAX_PARTS} parts.", 413)
        self.part = _Part()
        self.headers = {}
        self.header_bytes = 0

    def _header_data(self, size: int) -> None:
        self.header_bytes += size
        if self.header_bytes > MAX_HEADER_BYTES:
            raise UploadError(f"A part's headers are over {MAX_HEADER_BYTES} bytes.", 413)

    def header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_data(end - start)
        self.header_field += data[start:end]

    def header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_data(end - start)
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = self.header_value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("latin-1")
        if name in self.fields or name in self.files:
            raise UploadError(f"The part {name!r} is sent twice.")
        self.part.name = name
        filename = options.get(b"filename")
        if filename is not None:
            self._open_file(filename)

    def _open_file(self, filename: bytes) -> None:
        part = self.part
        part.filename = filename.decode("utf-8", errors="replace")
        part.content_type = self.headers.get(b"content-type", b"").decode("latin-1")
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        handle, path = tempfile.mkstemp(dir=self.upload_dir, suffix=".upload")
        self.made.append(Path(path))
        part.file = os.fdopen(handle, "wb")
        part.upload = UploadedFile(Path(path), part.filename, part.content_type or None)
        self.files[part.name] = part.upload

    def part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        if part.file is not None:
            part.file.write(data[start:end])
            assert part.upload is not None
            part.upload.size += end - start
        else:
            self.field_bytes += end - start
            if self.field_bytes > self.max_field_bytes:
                message = f"The form fields are over {self.max_field_bytes} bytes in total."
                raise UploadError(message, 413)
            part.data += data[start:end]

    def part_end(self) -> None:
        if self.part.file is not None:
            self.part.file.close()
        else:
            self.fields[self.part.name] = bytes(self.part.data)

    def discard(self) -> None:
        if self.part.file is not None:
            self.part.file.close()
        for path in self.made:
            path.unlink(missing_ok=True)


async def read_operation(
    request: Request, *, upload_dir: Path, max_bytes: int, max_field_bytes: int
) -> tuple[dict[str, Any], list[UploadedFile]]:
    """The operation's JSON body with each mapped variable replaced by its UploadedFile.

    `max_bytes` bounds the whole body, `max_field_bytes` the form fields together (they are
    kept in memory). On any way out but a return, every file made is removed.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise UploadError(f"Upload over {max_bytes} bytes.", 413)
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise UploadError("multipart/form-data needs a boundary.")
    reader = _Reader(upload_dir, max_field_bytes)
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
    except ClientDisconnect:
        reader.discard()
        raise UploadError("The client went away mid-upload.") from None
    except BaseException:  # a disconnect or a cancelled task too
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
