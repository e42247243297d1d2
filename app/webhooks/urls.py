"""Where a webhook may point: http(s), and by default only public addresses.

An address is refused when it, or an IPv4 address embedded in it (IPv4-mapped, -compatible
or -translated, NAT64, 6to4, Teredo), is loopback, private, link-local, reserved, multicast
or a cloud metadata address: `[64:ff9b::a9fe:a9fe]` is 169.254.169.254 behind a NAT64
gateway, `[2002:7f00:1::]` is 127.0.0.1 through a 6to4 relay.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from app.errors import InvalidInputError

MAX_URL = 2000
REFUSED = "The url's host resolves to a private, loopback or link-local address."

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Prefixes whose last 32 bits are an IPv4 address: IPv4-compatible (deprecated), IPv4-mapped,
# IPv4-translated (SIIT) and the NAT64 well-known prefix (RFC 6052).
_LAST_32_BITS = tuple(
    ipaddress.IPv6Network(prefix)
    for prefix in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
# NAT64's local-use prefix (RFC 8215) places the IPv4 where its operator chose: refused whole.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
# Metadata services on addresses that count as global (169.254.169.254 is link-local anyway).
_METADATA = frozenset({ipaddress.IPv4Address("168.63.129.16")})  # Azure's wire server


def check_shape(url: str, *, field: str = "url") -> str:
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL:
        raise InvalidInputError(f"url is longer than {MAX_URL} characters.", field=field)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError("url must be an http or https URL with a host.", field=field)
    if parts.username or parts.password:
        raise InvalidInputError("url must not carry credentials.", field=field)
    return url


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = []
    if any(ip in prefix for prefix in _LAST_32_BITS):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _refused_ip(ip: IPAddress) -> bool:
    if not ip.is_global or ip.is_multicast or ip in _METADATA:
        return True
    if isinstance(ip, ipaddress.IPv4Address):
        return False
    return ip in _LOCAL_NAT64 or any(_refused_ip(v4) for v4 in _embedded_ipv4(ip))


def _private(address: str) -> bool:
    """Whether a webhook may not connect to this address (text, as getaddrinfo gives it)."""
    return _refused_ip(ipaddress.ip_address(address.split("%", 1)[0]))


async def resolve(host: str, port: int | None = None) -> list[str]:
    """The host's addresses from one lookup, in the resolver's order, without repeats."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(addresses: list[str]) -> str | None:
    """Why these addresses may not be reached (every one is checked), or None."""
    if not addresses or any(_private(address) for address in addresses):
        return REFUSED
    return None


async def resolve_public(url: str, *, allow_private: bool, field: str = "url") -> None:
    """Refuse a host that resolves to a loopback, link-local, private or reserved address
    (a webhook must not reach into our own network), unless private ones are allowed."""
    if allow_private:
        return
    try:
        addresses = await resolve(urlsplit(url).hostname or "")
    except OSError:
        raise InvalidInputError("The url's host does not resolve.", field=field) from None
    reason = refusal(addresses)
    if reason is not None:
        raise InvalidInputError(reason, field=field)
