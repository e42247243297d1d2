"""A mutation's unit of work: commit on success, roll back on any error.

Kept apart from the permission check (schema/permissions.py), which decides whether the
mutation may run at all; this decides what happens to what it wrote.
"""

from __future__ import annotations

import functools
import logging
import typing
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

from app.db import expected_error
from app.errors import AppError, ConflictError
from schema.context import Context
from schema.errors import to_user_errors

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def info_context(kwargs: dict[str, Any]) -> Context:
    return typing.cast(Context, kwargs["info"].context)


def unit_of_work(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """One transaction per mutation; expected failures become the payload's errors.

    An AppError, a lost race on a unique key or a timeout rolls back everything the mutation
    wrote and answers the payload with `errors`; anything else rolls back and propagates (masked at
    the HTTP edge).
    """

    @functools.cache
    def payload() -> Any:
        return typing.get_type_hints(resolver)["return"]

    @functools.wraps(resolver)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        context = info_context(kwargs)
        session = context.session
        try:
            result = await resolver(*args, **kwargs)
            await session.commit()
            for hook in context.after_commit:
                hook()
            return result
        except AppError as error:
            await session.rollback()
            return typing.cast(R, payload()(errors=to_user_errors(error)))
        except IntegrityError as error:
            await session.rollback()
            log.info("integrity error in %s: %s", resolver.__name__, error.orig)
            conflict = ConflictError("The change conflicts with data written meanwhile.")
            return typing.cast(R, payload()(errors=to_user_errors(conflict)))
        except DBAPIError as error:
            await session.rollback()
            expected = expected_error(error)  # a statement or lock timeout: TIMEOUT
            if expected is None:
                raise
            log.info("%s in %s: %s", expected.code, resolver.__name__, error.orig)
            return typing.cast(R, payload()(errors=to_user_errors(expected)))
        except BaseException:
            await session.rollback()
            raise
        finally:
            context.after_commit.clear()

    return run
