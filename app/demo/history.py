"""What `seed-demo` adds to its accounts so the dashboard has something to show: a year of
assignments, activities, pipeline moves (with handoffs between reps) and active plans.

Activities go through the ingest service (so cadence columns are kept as in production);
pipeline history is written with past times, which no service offers on purpose.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities import ingest
from app.assignments import service as assignments
from app.kit.actor import SYSTEM
from app.models.accounts import Account, Classification
from app.models.activities import ActivityKind
from app.models.assignments import ManagerType
from app.models.auth import Role, User
from app.models.handoff import Pipeline, PipelineEntry, StageEvent
from app.models.planning import PlanStatus
from app.planning import service as planning

FREQUENCY = {Classification.A: 14, Classification.B: 30, Classification.C: 60, Classification.D: 90}
KINDS = (
    (ActivityKind.CALL_OUTBOUND, 30),
    (ActivityKind.EMAIL_SENT, 25),
    (ActivityKind.EMAIL_RECEIVED, 12),
    (ActivityKind.MEETING, 8),
    (ActivityKind.VISIT, 6),
    (ActivityKind.QUOTE, 5),
    (ActivityKind.INVOICE, 6),
    (ActivityKind.PARTS_PURCHASE, 4),
    (ActivityKind.SERVICE_ORDER, 3),
    (ActivityKind.NOTE, 5),
)
# Mean days before the next move out of each stage, and the chance that move is forward.
STAY = {"PROSPECT": (18, 0.7), "QUALIFIED": (12, 0.75), "OPPORTUNITY": (30, 0.55)}
FORWARD = {"PROSPECT": "QUALIFIED", "QUALIFIED": "OPPORTUNITY", "OPPORTUNITY": "CUSTOMER"}


@dataclass(slots=True)
class Move:
    from_stage: str | None
    to_stage: str
    at: datetime
    from_owner: int | None
    to_owner: int | None
    seconds: float | None


async def seed_history(session: AsyncSession, rng: random.Random, account_ids: list[int]) -> str:
    now = datetime.now(UTC)
    reps = list(await session.scalars(select(User.id).where(User.role == Role.REP)))
    accounts = list(
        await session.execute(
            select(Account.id, Account.classification).where(Account.id.in_(account_ids))
        )
    )
    covered = await _assign(session, rng, accounts, reps, now)
    logged = await _activities(session, rng, covered, now)
    moves = await _pipeline(session, rng, account_ids, reps, now)
    plans = await _plans(session, rng, accounts, {a: u for a, u, _ in reversed(covered)}, now)
    return f"{len(covered)} assignments, {logged} activities, {moves} stage moves, {plans} plans"


async def _assign(
    session: AsyncSession,
    rng: random.Random,
    accounts: Sequence[tuple[int, Classification | None]],
    reps: list[int],
    now: datetime,
) -> list[tuple[int, int, int]]:
    covered: list[tuple[int, int, int]] = []
    for account_id, classification in accounts:
        types = [ManagerType.SALES]
        if rng.random() < 0.3:
            types.append(rng.choice((ManagerType.PARTS, ManagerType.SERVICE)))
        frequency = FREQUENCY.get(classification or Classification.D, 90)
        for manager_type in types:
            user_id = rng.choice(reps)
            await assignments.assign_account(
                session,
                actor=SYSTEM,
                account_id=account_id,
                user_id=user_id,
                manager_type=manager_type,
                contact_frequency_days=frequency,
                started_at=now - timedelta(days=rng.randint(45, 420)),
            )
            covered.append((account_id, user_id, frequency))
    return covered


async def _activities(
    session: AsyncSession,
    rng: random.Random,
    covered: list[tuple[int, int, int]],
    now: datetime,
) -> int:
    kinds, weights = zip(*KINDS, strict=True)
    items: list[ingest.ActivityInput] = []
    for account_id, user_id, frequency in covered:
        # Some reps keep up with the cadence, some fall behind.
        keeping_up = rng.uniform(0.3, 1.5)
        for _ in range(max(1, round(365 / frequency * keeping_up))):
            kind = rng.choices(kinds, weights)[0]
            revenue = kind in (ActivityKind.INVOICE, ActivityKind.PARTS_PURCHASE)
            items.append(
                ingest.ActivityInput(
                    kind=kind,
                    occurred_at=now - timedelta(days=rng.uniform(0.2, 365)),
                    account_id=account_id,
                    user_id=user_id,
                    amount=Decimal(rng.randint(200, 40_000)) if revenue else None,
                )
            )
    for start in range(0, len(items), 1000):
        batch = items[start : start + 1000]
        await ingest.log_activities(session, actor=SYSTEM, items=batch, max_batch=1000)
    return len(items)


def _path(rng: random.Random, reps: list[int], start: datetime, now: datetime) -> list[Move]:
    owner = rng.choice(reps)
    moves = [Move(None, "PROSPECT", start, None, owner, None)]
    stage, at = "PROSPECT", start
    while stage in STAY:
        mean, forward = STAY[stage]
        later = at + timedelta(days=rng.expovariate(1 / mean))
        if later >= now:
            break
        to_stage = FORWARD[stage] if rng.random() < forward else "LOST"
        # The qualified lead goes from its development rep to an account executive.
        to_owner = rng.choice(reps) if to_stage == "OPPORTUNITY" else owner
        moves.append(Move(stage, to_stage, later, owner, to_owner, (later - at).total_seconds()))
        stage, at, owner = to_stage, later, to_owner
    return moves


async def _pipeline(
    session: AsyncSession,
    rng: random.Random,
    account_ids: list[int],
    reps: list[int],
    now: datetime,
) -> int:
    pipeline = await session.scalar(select(Pipeline).where(Pipeline.is_default))
    if pipeline is None:
        return 0
    await session.execute(delete(StageEvent).where(StageEvent.account_id.in_(account_ids)))
    count = 0
    for account_id in account_ids:
        moves = _path(rng, reps, now - timedelta(days=rng.uniform(1, 240)), now)
        for move in moves:
            handoff = move.to_stage == "OPPORTUNITY"
            session.add(
                StageEvent(
                    account_id=account_id,
                    pipeline_id=pipeline.id,
                    from_stage=move.from_stage,
                    to_stage=move.to_stage,
                    trigger="enter" if move.from_stage is None else "move",
                    occurred_at=move.at,
                    from_owner_id=move.from_owner,
                    to_owner_id=move.to_owner,
                    is_handoff=handoff,
                    reason="Qualified: budget confirmed" if handoff else None,
                    benefit="An account executive who knows the product line" if handoff else None,
                    accepted_at=move.at + timedelta(hours=rng.uniform(1, 72)) if handoff else None,
                    missing_recommended=[],
                    seconds_in_previous_stage=move.seconds,
                )
            )
        last = moves[-1]
        await session.execute(
            update(PipelineEntry)
            .where(PipelineEntry.account_id == account_id, PipelineEntry.pipeline_id == pipeline.id)
            .values(stage=last.to_stage, owner_id=last.to_owner, entered_at=last.at)
        )
        count += len(moves) - 1
    await session.flush()
    return count


async def _plans(
    session: AsyncSession,
    rng: random.Random,
    accounts: Sequence[tuple[int, Classification | None]],
    owners: dict[int, int],
    now: datetime,
) -> int:
    year = now.year
    count = 0
    for account_id, classification in accounts:
        if classification not in (Classification.A, Classification.B) or rng.random() > 0.5:
            continue
        plan = await planning.create_plan(
            session,
            actor=SYSTEM,
            account_id=account_id,
            owner_id=owners.get(account_id),
            period_start=date(year, 1, 1),
            period_end=date(year, 12, 31),
            growth_target_pct=Decimal(rng.choice((5, 8, 10, 12, 15, 20))),
            price_change_pct=Decimal(rng.choice((0, 2, 3))),
            planned_net_new=Decimal(rng.randint(0, 20) * 1000),
        )
        await planning.set_plan_status(
            session, actor=SYSTEM, plan_id=plan.id, status=PlanStatus.ACTIVE
        )
        count += 1
    return count
