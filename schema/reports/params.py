"""Report arguments from a URL's query string, checked like GraphQL's (lists comma-separated)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from starlette.datastructures import QueryParams

from app.errors import InvalidInputError
from schema.relay import decode_id

E = TypeVar("E", bound=StrEnum)


class Params:
    def __init__(self, query: QueryParams) -> None:
        self.query = query

    def text(self, name: str, default: str | None = None) -> str | None:
        raw = self.query.get(name)
        return default if raw is None or raw == "" else raw

    def required(self, name: str) -> str:
        raw = self.text(name)
        if raw is None:
            raise InvalidInputError(f"{name} is required.", field=name)
        return raw

    def timestamp(self, name: str) -> datetime:
        raw = self.required(name)
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise InvalidInputError(f"{name} must be an ISO-8601 date-time.", field=name) from None
        if value.tzinfo is None:
            raise InvalidInputError(f"{name} needs a time zone.", field=name)
        return value

    def day(self, name: str) -> date:
        try:
            return date.fromisoformat(self.required(name))
        except ValueError:
            raise InvalidInputError(f"{name} must be an ISO-8601 date.", field=name) from None

    def number(self, name: str, default: int | None = None) -> int | None:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise InvalidInputError(f"{name} must be an integer.", field=name) from None

    def required_number(self, name: str) -> int:
        value = self.number(name)
        if value is None:
            raise InvalidInputError(f"{name} is required.", field=name)
        return value

    def enum(self, name: str, kind: type[E]) -> E | None:
        raw = self.text(name)
        return None if raw is None else _member(name, kind, raw)

    def required_enum(self, name: str, kind: type[E]) -> E:
        return _member(name, kind, self.required(name))

    def enums(self, name: str, kind: type[E]) -> list[E] | None:
        raw = self.text(name)
        if raw is None:
            return None
        return [_member(name, kind, part.strip()) for part in raw.split(",") if part.strip()]

    def user_id(self, name: str) -> int | None:
        raw = self.text(name)
        return None if raw is None else decode_id(raw, "User", field=name)


def _member(name: str, kind: type[E], raw: str) -> E:
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidInputError(f"{name} must be one of {allowed}.", field=name) from None
