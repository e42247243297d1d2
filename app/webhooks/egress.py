"""The webhooks' connections: only to the addresses that were checked.

Checking a host's addresses and then letting a client resolve the name again to connect
lets a DNS server answer a public address to the check and 169.254.169.254 to the
connection (DNS rebinding). Here the name is resolved once per connection: every address
of that answer is checked, then the socket is opened to one of those addresses. TLS still
uses the URL's host name (SNI and certificate verification), and the `Host` header is the
URL's (app.webhooks.client writes it): only the socket goes to the literal address.
"""

from __future__ import annotations

import asyncio
import ssl

from app.webhooks import urls


class EgressError(Exception):
    """A delivery's exchange failed before the receiver's answer was in."""


class ConnectError(EgressError):
    """No connection to the receiver."""


class RefusedAddressError(ConnectError):
    """The host resolved to an address a webhook may not reach."""


async def open_stream(
    host: str, port: int, *, allow_private: bool, tls: ssl.SSLContext | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to one of the host's checked addresses, in the resolver's order."""
    failure: OSError | None = None
    for address in await _addresses(host, port, allow_private=allow_private):
        try:
            return await asyncio.open_connection(
                address, port, ssl=tls, server_hostname=host if tls else None
            )
        except OSError as error:  # refused, unreachable, or TLS (ssl.SSLError is an OSError)
            failure = error
    raise ConnectError(f"{host}:{port}: {failure}")


async def _addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    try:
        addresses = await urls.resolve(host, port)
    except OSError as error:
        raise ConnectError(f"{host} does not resolve: {error}") from None
    reason = None if allow_private else urls.refusal(addresses)
    if reason is not None:
        raise RefusedAddressError(f"{reason.removesuffix('.')}: {', '.join(addresses)}")
    if not addresses:
        raise ConnectError(f"{host} has no address")
    return addresses
