from __future__ import annotations

import strawberry

from app.errors import AppError


@strawberry.interface(description="An expected failure: bad input, not found, conflict, forbidden.")
class UserError:
    code: str
    message: str
    field: str | None


@strawberry.type
class BasicError(UserError):
    pass


ERROR_TYPES: dict[type[AppError], type[UserError]] = {}


def register_error(error: type[AppError], converter: type[UserError]) -> None:
    """Errors with extra data (GateBlockedError's `missing`) get their own GraphQL type."""
    ERROR_TYPES[error] = converter


def to_user_errors(error: AppError) -> list[UserError]:
    result: list[UserError] = []
    for item in error:
        converter = ERROR_TYPES.get(type(item))
        if converter is not None:
            result.append(converter.from_error(item))  # type: ignore[attr-defined]
        else:
            result.append(BasicError(code=item.code, message=item.message, field=item.field))
    return result
