"""The deliveries' HTTP/1.1 client: one POST, the answer's status, the connection kept.

httpx cost about 1 ms of CPU per delivery (its models, httpcore's pool, h11); a delivery
needs a request written in one piece and the status of the answer, parsed here by
httptools (llhttp, as uvicorn does). Connections come from app.webhooks.egress (only to
checked addresses; TLS verified for the URL's host name), at most `per_host` in use per
origin, and are kept idle for KEEPALIVE_SECONDS for the next delivery there. Redirects
are not followed (a 3xx is the receiver's answer), no proxy is used, and an answer's body
is read up to `max_body` bytes and dropped: a longer one costs its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import string
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Self
from urllib.parse import quote, urlsplit

import certifi
import httptools

from app import tracing
from app.webhooks import egress

# Below uvicorn's 5 s keep-alive, so that a receiver seldom closes a connection first.
KEEPALIVE_SECONDS = 4.0
USER_AGENT = "accountflow-webhooks"
_SAFE = string.punctuation  # keeps what the URL escaped already; escapes spaces and controls

Origin = tuple[str, str, int]


class ProtocolError(egress.EgressError):
    """The receiver's answer is not HTTP/1.x (or the URL is not http(s))."""


class ReadError(egress.EgressError):
    """The connection ended before the answer did."""


class _StaleError(ReadError):
    """A kept connection the receiver had closed: not one byte of an answer came."""


@dataclass(frozen=True, slots=True)
class Target:
    origin: Origin
    head: bytes  # the request line and the headers every delivery to this URL carries


@lru_cache(maxsize=1024)
def target(url: str) -> Target:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ProtocolError(f"not an http(s) URL: {url[:200]!r}")
    host = parts.hostname.encode("idna").decode("ascii")
    port = port or (443 if parts.scheme == "https" else 80)
    path = quote(parts.path or "/", safe=_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_SAFE)
    authority = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        authority += f":{port}"
    head = f"POST {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {USER_AGENT}\r\n"
    return Target((parts.scheme, host, port), head.encode("ascii"))


def request(found: Target, headers: dict[str, str], body: bytes) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    if lines.count("\n") != len(headers) or lines.count("\r") != len(headers):
        raise ValueError("a header holds a line break")
    extra = f"Content-Length: {len(body)}\r\n{lines}\r\n"
    return b"".join((found.head, extra.encode("latin-1"), body))


class _Answer:
    """httptools' callbacks: the status once the head is in, the body's size, the end."""

    __slots__ = ("body_bytes", "complete", "parser", "started", "status")

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status: int | None = None
        self.body_bytes = 0
        self.complete = False
        self.started = False

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status >= 200:  # a 1xx is followed by the real answer
            self.status = status

    def on_body(self, chunk: bytes) -> None:
        self.body_bytes += len(chunk)

    def on_message_complete(self) -> None:
        self.complete = self.status is not None


class Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    def usable(self) -> bool:
        fresh = time.monotonic() - self.idle_since < KEEPALIVE_SECONDS
        return fresh and not self.writer.is_closing() and not self.reader.at_eof()

    async def send(self, data: bytes) -> _Answer:
        """Write the request; the answer once its status is in."""
        self.writer.write(data)
        await self.writer.drain()
        answer = _Answer()
        while answer.status is None:
            await self._feed(answer)
        return answer

    async def finish(self, answer: _Answer, max_body: int) -> bool:
        """Read the rest of the answer; whether the connection can carry another request."""
        while not answer.complete:
            if answer.body_bytes > max_body:
                return False
            await self._feed(answer)
        return bool(answer.parser.should_keep_alive())

    async def _feed(self, answer: _Answer) -> None:
        failure: str = "EOF"
        try:
            data = await self.reader.read(65_536)
        except ConnectionError as error:
            data, failure = b"", str(error)
        if not data:
            kind = ReadError if answer.started else _StaleError
            raise kind(f"the connection closed before the answer ended ({failure})")
        answer.started = True
        try:
            answer.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            raise ProtocolError("the receiver switched protocols") from None
        except httptools.HttpParserError as error:
            raise ProtocolError(f"not an HTTP/1.x answer: {error}") from None

    def close(self) -> None:
        self.writer.close()


class Client:
    """POSTs to receivers over kept connections. A caller holds `slot(url)` around each
    post: at most `per_host` exchanges at once per receiver host, so that one slow
    receiver does not take every connection, and a deadline starts once a slot is held."""

    def __init__(
        self,
        *,
        allow_private: bool,
        per_host: int,
        max_body: int,
        timeout_seconds: float,
        verify: ssl.SSLContext | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.timeout = timeout_seconds
        self.per_host = per_host
        self.max_body = max_body
        self.tls = verify or ssl.create_default_context(cafile=certifi.where())
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._idle: dict[Origin, deque[Connection]] = {}
        self._closed = False

    async def post(self, url: str, headers: dict[str, str], body: bytes, deadline: float) -> int:
        """The receiver's status; the exchange ends by `deadline` (the loop's clock) or
        within the client's timeout, whichever comes first."""
        deadline = min(deadline, asyncio.get_running_loop().time() + self.timeout)
        found = target(url)
        with _span(url, headers):
            data = request(found, headers, body)
            async with asyncio.timeout_at(deadline):
                connection, answer = await self._exchange(found.origin, data)
        await self._settle(found.origin, connection, answer, deadline)
        assert answer.status is not None
        return answer.status

    def slot(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).netloc
        return self._slots.setdefault(host, asyncio.Semaphore(self.per_host))

    async def _exchange(self, origin: Origin, data: bytes) -> tuple[Connection, _Answer]:
        kept = self._kept(origin)
        if kept is not None:
            try:
                return kept, await _sent(kept, data)
            except _StaleError:
                pass  # closed by the receiver while idle: once more, on a new connection
        connection = await self._open(origin)
        return connection, await _sent(connection, data)

    async def _settle(
        self, origin: Origin, connection: Connection, answer: _Answer, deadline: float
    ) -> None:
        """Read the answer to its end (errors only cost the connection), then keep it."""
        reusable = False
        try:
            async with asyncio.timeout_at(deadline):
                reusable = await connection.finish(answer, self.max_body)
        except (TimeoutError, OSError, egress.EgressError):
            pass
        finally:
            if reusable and not self._closed:
                connection.idle_since = time.monotonic()
                self._idle.setdefault(origin, deque()).append(connection)
            else:
                connection.close()

    def _kept(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    async def _open(self, origin: Origin) -> Connection:
        scheme, host, port = origin
        tls = self.tls if scheme == "https" else None
        reader, writer = await egress.open_stream(
            host, port, allow_private=self.allow_private, tls=tls
        )
        return Connection(reader, writer)

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            while idle:
                idle.pop().close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def _sent(connection: Connection, data: bytes) -> _Answer:
    try:
        return await connection.send(data)
    except BaseException:
        connection.close()
        raise


@contextlib.contextmanager
def _span(url: str, headers: dict[str, str]) -> Iterator[Any]:
    """With tracing on, each delivery a client span whose `traceparent` goes along."""
    if not tracing.enabled():
        yield None
        return
    from opentelemetry import propagate, trace

    tracer = trace.get_tracer("accountflow.webhooks")
    attributes = {"http.request.method": "POST", "url.full": url}
    with tracer.start_as_current_span(
        "POST", kind=trace.SpanKind.CLIENT, attributes=attributes
    ) as span:
        propagate.inject(headers)
        yield span
