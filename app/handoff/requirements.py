"""Requirement names (`field:industry`, `contact_role:DECISION_MAKER`, ...) as SQL facts.

`activity_within:<days>` counts any activity in the last days; `activity_within:30:MEETING,VISIT`
only those of the kinds named (seed 004: what actions the prospect takes).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.accounts import Account, BuyingRole, Contact
from app.models.activities import Activity, ActivityKind
from app.models.assignments import Assignment, ManagerType
from app.models.planning import AccountPlan, PlanStatus

ACCOUNT_FIELDS = frozenset(
    {
        "name",
        "classification",
        "industry",
        "source",
        "street",
        "city",
        "region",
        "postal_code",
        "country_code",
        "phone",
        "email",
        "website",
        "external_ref",
        "parent_id",
    }
)
MAX_DAYS = 3650
MAX_NAME = 100  # stage events and blocked attempts keep missing names as varchar(100)


def problem(name: str) -> str | None:
    """Why a requirement name is not understood, or None when it is."""
    kind, sep, arg = name.partition(":")
    if len(name) > MAX_NAME:
        return f"requirement {name[:40]!r}... is longer than {MAX_NAME} characters"
    if not sep or not arg:
        return f"requirement {name!r} must look like 'kind:argument'"
    if kind == "field":
        return None if arg in ACCOUNT_FIELDS else f"unknown account field in {name!r}"
    if kind == "attribute":
        return None
    if kind == "contact_role":
        return None if arg in BuyingRole.__members__ else f"unknown buying role in {name!r}"
    if kind == "activity_within":
        return _activity_problem(name, arg)
    if kind == "plan":
        return None if arg == "active" else f"unknown plan requirement {name!r}"
    if kind == "assignment":
        return None if arg in ManagerType.__members__ else f"unknown manager type in {name!r}"
    return f"unknown requirement kind in {name!r}"


def _activity_problem(name: str, arg: str) -> str | None:
    """`activity_within:<days>` or `activity_within:<days>:<KIND>,<KIND>...`."""
    days, sep, kinds = arg.partition(":")
    if not (days.isdigit() and 1 <= int(days) <= MAX_DAYS):
        return f"{name!r} needs a number of days from 1 to {MAX_DAYS}"
    if not sep:
        return None
    unknown = [k for k in kinds.split(",") if k not in ActivityKind.__members__]
    if unknown:
        return f"unknown activity kind {', '.join(map(repr, unknown))} in {name!r}"
    return None


def _activity_within(arg: str) -> ColumnElement[bool]:
    days, _, kinds = arg.partition(":")
    since = func.now() - func.make_interval(0, 0, 0, int(days))
    conditions = [
        Activity.account_id == Account.id,
        Activity.occurred_at >= since,
        Activity.voided_at.is_(None),
    ]
    if kinds:
        conditions.append(Activity.kind.in_([ActivityKind(k) for k in kinds.split(",")]))
    return exists().where(*conditions)


def _non_empty(value: ColumnElement[Any]) -> ColumnElement[bool]:
    return func.coalesce(func.btrim(cast(value, String)), "") != ""


def fact(name: str) -> ColumnElement[bool]:
    """A boolean SQL expression over an `accounts` row (subqueries correlate to it)."""
    account_id = Account.id
    kind, _, arg = name.partition(":")
    if kind == "field":
        return _non_empty(getattr(Account, arg))
    if kind == "attribute":
        raw = Account.attributes[arg].astext
        return and_(_non_empty(raw), raw != "[]", raw != "{}")
    if kind == "contact_role":
        role = BuyingRole(arg)
        return exists().where(
            Contact.account_id == account_id,
            Contact.buying_role == role,
            Contact.removed_at.is_(None),
        )
    if kind == "activity_within":
        return _activity_within(arg)
    if kind == "plan":
        today = func.date(func.timezone("UTC", func.now()))
        return exists().where(
            AccountPlan.account_id == account_id,
            AccountPlan.status == PlanStatus.ACTIVE,
            AccountPlan.period_start <= today,
            AccountPlan.period_end >= today,
        )
    if kind == "assignment":
        manager_type = ManagerType(arg)
        return exists().where(
            Assignment.account_id == account_id, Assignment.manager_type == manager_type
        )
    raise ValueError(problem(name))


@dataclass(frozen=True, slots=True)
class Facts:
    met: set[str]
    clock: datetime
    touches: int


@functools.lru_cache(maxsize=256)
def facts_query(names: tuple[str, ...]) -> Select[Any]:
    """Built once per list of requirements (a stage's), run with account_id and stay_began."""
    touches = (
        select(func.count())
        .where(
            Activity.account_id == Account.id,
            Activity.occurred_at >= bindparam("stay_began", type_=DateTime(timezone=True)),
            Activity.occurred_at < func.clock_timestamp(),
            Activity.voided_at.is_(None),
        )
        .scalar_subquery()
    )
    columns = [fact(name).label(f"r{i}") for i, name in enumerate(names)]
    return select(func.clock_timestamp(), touches, *columns).where(
        Account.id == bindparam("account_id")
    )


async def evaluate(
    session: AsyncSession, account_id: int, names: Sequence[str], *, stay_began: datetime
) -> Facts:
    """The requirements the account meets, the database clock read after the entry's lock,
    and the activities logged during the stay that a move now would end."""
    query = facts_query(tuple(names))
    params = {"account_id": account_id, "stay_began": stay_began}
    row = (await session.execute(query, params)).one()
    met = {name for name, ok in zip(names, row[2:], strict=True) if ok}
    return Facts(met=met, clock=row[0], touches=row[1])
