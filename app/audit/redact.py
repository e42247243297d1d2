"""What the audit log keeps of secret values: a URL's origin (a webhook's URL often holds a
secret path or key), and nothing of a secret. Writers redact what they record; readers
redact again, for rows written before."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

URL_KEYS = frozenset({"url"})
SECRET_KEYS = frozenset({"secret", "token", "password", "tokenHash"})
HIDDEN = "[redacted]"


def url(value: Any) -> Any:
    """`https://host:port/…`: scheme and host, no credentials, path, query or fragment."""
    if not isinstance(value, str):
        return value
    parts = urlsplit(value)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}/…" if parts.scheme and host else HIDDEN


def _value(key: str, value: Any) -> Any:
    if key in SECRET_KEYS:
        return None if value is None else HIDDEN
    if key in URL_KEYS:
        return url(value)
    return value


def changes(values: Mapping[str, Any]) -> dict[str, Any]:
    """An audit row's changes ({field: {"before", "after"}} or {field: value}), redacted."""
    redacted: dict[str, Any] = {}
    for key, change in values.items():
        if isinstance(change, Mapping) and change.keys() <= {"before", "after"}:
            redacted[key] = {side: _value(key, v) for side, v in change.items()}
        else:
            redacted[key] = _value(key, change)
    return redacted
