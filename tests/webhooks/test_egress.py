"""The delivery client connects to the address it checked, never to a second DNS answer.

The DNS server here is a stand-in for an attacker's: `socket.getaddrinfo` (the resolver the
process asks, over its boundary) answers one address to the first lookup of `rebind.test`
and another one afterwards. 127.0.0.2 plays a public address (the address check is told
so); 127.0.0.1 is the internal service the attacker wants to reach.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.models.auth import Role
from app.models.webhooks import DeliveryStatus
from app.webhooks import urls
from app.webhooks.worker import Deliverer, http_client
from tests.support import Api
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import create_webhook, deliveries

HOST = "rebind.test"
PUBLIC, INTERNAL = "127.0.0.2", "127.0.0.1"
_getaddrinfo = socket.getaddrinfo


class Rebinding:
    """Answers `HOST` with `answers[0]` once, then with `answers[-1]`; other names as usual."""

    def __init__(self, *answers: str) -> None:
        self.answers = answers
        self.lookups = 0

    def __call__(self, host: bytes | str | None, port: Any, *args: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name != HOST:
            return _getaddrinfo(host, port, *args)
        address = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return _getaddrinfo(address, port, *args)


@pytest.fixture
def public_and_internal() -> Iterator[tuple[Receiver, Receiver]]:
    """Two receivers on one port: the checked address's and the internal one's."""
    for _ in range(20):
        public = Receiver(host=PUBLIC).start()
        assert public.server is not None
        try:
            internal = Receiver(host=INTERNAL, port=public.server.server_address[1]).start()
            break
        except OSError:  # that port is taken on 127.0.0.1: take another
            public.stop()
    else:
        raise RuntimeError("no port free on both addresses")
    yield public, internal
    public.stop()
    internal.stop()


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> Rebinding:
    dns = Rebinding(PUBLIC, INTERNAL)
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    monkeypatch.setattr(urls, "_private", lambda address: address != PUBLIC)
    return dns


@pytest.fixture
async def guarded(engine: AsyncEngine) -> AsyncIterator[Deliverer]:
    """A deliverer that refuses private addresses, as in production."""
    async with http_client(timeout_seconds=2.0) as client:
        yield Deliverer(db.create_sessionmaker(engine), client, deadline_seconds=2.0)


async def test_the_connection_goes_to_the_address_that_was_checked(
    api: Api,
    guarded: Deliverer,
    rebinding: Rebinding,
    public_and_internal: tuple[Receiver, Receiver],
) -> None:
    public, internal = public_and_internal
    port = public.server.server_address[1] if public.server else 0
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, f"http://{HOST}:{port}/hook", ["ACCOUNT_CREATED"])
    await api.op("CreateAccount", {"input": {"name": "Rebound"}}, caller=admin)
    await guarded.run_once()
    assert internal.received == []
    assert len(public.received) == 1
    assert public.received[0].headers["host"] == f"{HOST}:{port}"
    assert rebinding.lookups == 1
    (delivery,) = await deliveries(api.session)
    assert (delivery.status, delivery.response_status) == (DeliveryStatus.SUCCEEDED, 204)


async def test_an_answer_with_a_private_address_is_refused_before_connecting(
    api: Api, guarded: Deliverer, receiver: Receiver
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])  # allowed when saved
    await api.op("CreateAccount", {"input": {"name": "Inside"}}, caller=admin)
    await guarded.run_once()
    assert receiver.received == []
    (delivery,) = await deliveries(api.session)
    assert (delivery.status, delivery.response_status) == (DeliveryStatus.PENDING, None)
    assert delivery.last_error is not None
    assert "private, loopback or link-local address: 127.0.0.1" in delivery.last_error


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate valid for HOST only (not for 127.0.0.2)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    names = ["-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}"]
    subprocess.run(
        [*request, *names, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_is_verified_for_the_host_name_and_sends_it_as_sni(
    api: Api, engine: AsyncEngine, rebinding: Rebinding, tmp_path: Path
) -> None:
    cert, key = _certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    names: list[str | None] = []

    def sni(_socket: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: ssl.SSLContext) -> None:
        names.append(name)

    server_tls.sni_callback = sni
    receiver = Receiver(host=PUBLIC, tls=server_tls).start()
    try:
        port = receiver.server.server_address[1] if receiver.server else 0
        admin = await api.caller(Role.ADMIN)
        await create_webhook(api, admin, f"https://{HOST}:{port}/hook", ["ACCOUNT_CREATED"])
        await api.op("CreateAccount", {"input": {"name": "Sealed"}}, caller=admin)
        trusted = ssl.create_default_context(cafile=str(cert))
        async with http_client(timeout_seconds=2.0, verify=trusted) as client:
            await Deliverer(db.create_sessionmaker(engine), client).run_once()
    finally:
        receiver.stop()
    assert names == [HOST]
    assert [r.headers["host"] for r in receiver.received] == [f"{HOST}:{port}"]
    (delivery,) = await deliveries(api.session)
    assert (delivery.status, delivery.response_status) == (DeliveryStatus.SUCCEEDED, 204)
