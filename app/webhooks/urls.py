"""Where a webhook may point: http(s), and by default only public addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from app.errors import InvalidInputError

MAX_URL = 2000


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


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def resolve_public(url: str, *, allow_private: bool, field: str = "url") -> None:
    """Refuse a host that resolves to a loopback, link-local, private or reserved address
    (a webhook must not reach into our own network), unless private ones are allowed."""
    if allow_private:
        return
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise InvalidInputError("The url's host does not resolve.", field=field) from None
    if not infos or any(_private(str(info[4][0])) for info in infos):
        raise InvalidInputError(
            "The url's host resolves to a private, loopback or link-local address.", field=field
        )
