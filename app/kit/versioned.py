"""The versioned update, written once: each feature fills in a Recipe with its own steps.

The steps, in order (Saleor's BaseMutation and Polar's repository base are the models):
drop the UNSET fields and refuse unknown ones, clean them, `prepare` (what must happen
before the row lock), lock the row, check `expectedVersion` (a lost race is CONFLICT),
`check` the feature's rules against the locked row, diff, and only when something
changed: write the values, bump the version, then the audit row and the event together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ConflictError, InvalidInputError
from app.events import Event
from app.kit import changes
from app.kit.actor import Actor

UNSET: Any = object()  # "not given": the field keeps its value (None clears it)


class Entity(Protocol):
    id: Any  # a mapped column on the models: Mapped[int]


class Versioned(Protocol):
    version: Any
    updated_at: Any


Row = TypeVar("Row", bound=Entity)
Hook = Callable[[AsyncSession, Actor, Row, dict[str, Any]], Awaitable[None]]


def given(fields: Mapping[str, Any], allowed: Collection[str]) -> dict[str, Any]:
    """The fields given (not UNSET); an unknown name is a programming error at the caller."""
    values = {key: value for key, value in fields.items() if value is not UNSET}
    unknown = set(values) - set(allowed)
    if unknown:
        raise InvalidInputError(f"Unknown fields: {sorted(unknown)}")
    return values


def check_version(noun: str, version: int, expected: int | None) -> None:
    if expected is not None and version != expected:
        raise ConflictError(
            f"The {noun} changed since version {expected} (now {version}).",
            field="expectedVersion",
        )


def _same(name: str) -> str:
    return name


@dataclass(frozen=True, slots=True)
class Recipe(Generic[Row]):
    """One feature's versioned update: its fields, steps, audit action and event."""

    noun: str  # in the CONFLICT message: "The account changed since version 3 (now 4)."
    entity_type: str
    action: str
    fields: Sequence[str]
    clean: Callable[[dict[str, Any]], dict[str, Any]]
    lock: Callable[[AsyncSession, int], Awaitable[Row]]
    announce: Callable[[Row, dict[str, Any]], Event]  # the row after the change, the diff
    prepare: Callable[[AsyncSession, Actor, dict[str, Any]], Awaitable[None]] | None = None
    check: Hook[Row] | None = None
    apply: Callable[[Row, dict[str, Any]], None] | None = None  # derived values to set too
    audit_name: Callable[[str], str] = _same  # a field's name in the audit log and diff
    versioned: bool = True  # False: no version column (contacts)
    refresh: Sequence[str] | None = ("updated_at",)  # None: the whole row


async def update(
    session: AsyncSession,
    recipe: Recipe[Row],
    *,
    actor: Actor,
    row_id: int,
    expected_version: int | None = None,
    fields: Mapping[str, Any],
) -> Row:
    clean = recipe.clean(given(fields, recipe.fields))
    if recipe.prepare is not None:
        await recipe.prepare(session, actor, clean)
    row = await recipe.lock(session, row_id)
    if recipe.versioned:
        check_version(recipe.noun, cast(Versioned, row).version, expected_version)
    if recipe.check is not None:
        await recipe.check(session, actor, row, clean)
    name = recipe.audit_name
    before = {name(key): getattr(row, key) for key in clean}
    delta = changes.diff(before, {name(key): value for key, value in clean.items()})
    if delta:
        await _write(session, recipe, row, clean)
        audit = changes.Audit(recipe.action, recipe.entity_type, row.id, delta)
        event = recipe.announce(row, delta)
        await changes.record(session, actor=actor, audit=audit, events=event)
    return row


async def _write(
    session: AsyncSession, recipe: Recipe[Row], row: Row, clean: dict[str, Any]
) -> None:
    for key, value in clean.items():
        setattr(row, key, value)
    if recipe.apply is not None:
        recipe.apply(row, clean)
    if recipe.versioned:
        versioned = cast(Versioned, row)
        versioned.version += 1
        versioned.updated_at = func.now()
    await session.flush()
    if recipe.refresh is None:
        await session.refresh(row)
    elif recipe.versioned:
        await session.refresh(row, list(recipe.refresh))
