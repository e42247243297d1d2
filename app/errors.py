from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar


class AppError(Exception):
    """An expected failure: shown to the client as a UserError with a stable code."""

    code: ClassVar[str] = "ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __iter__(self) -> Iterator[AppError]:
        yield self


class InvalidInputError(AppError):
    code = "INVALID_INPUT"


class InvalidIdError(AppError):
    code = "INVALID_ID"


class InvalidCursorError(AppError):
    code = "INVALID_CURSOR"


class IdempotencyConflictError(AppError):
    """The same (source, externalId) was sent before with a different payload."""

    code = "IDEMPOTENCY_CONFLICT"


class StatementTimeoutError(AppError):
    """A statement ran past statement_timeout or waited past lock_timeout."""

    code = "TIMEOUT"


class NotFoundError(AppError):
    code = "NOT_FOUND"


class ConflictError(AppError):
    code = "CONFLICT"


class AlreadyExistsError(AppError):
    code = "ALREADY_EXISTS"


class ForbiddenError(AppError):
    code = "FORBIDDEN"

    def __init__(
        self, message: str = "You are not allowed to do this.", *, field: str | None = None
    ) -> None:
        super().__init__(message, field=field)


class InvalidTransitionError(AppError):
    code = "INVALID_TRANSITION"


class ErrorGroup(AppError):
    """Several input errors reported together; nothing was written."""

    def __init__(self, errors: list[AppError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
        self.code = errors[0].code  # type: ignore[misc]

    def __iter__(self) -> Iterator[AppError]:
        yield from self.errors


class ServiceUnavailableError(AppError):
    """PostgreSQL cannot be reached: the edge answers 503 with Retry-After; retry later."""

    code = "SERVICE_UNAVAILABLE"

    def __init__(self, message: str = "The database is unavailable; retry later.") -> None:
        super().__init__(message)
