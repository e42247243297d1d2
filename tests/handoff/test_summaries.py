"""The day summaries (migration 0012) against the raw rows, after every kind of write.

Each report answered from the summaries over HTTP must equal the same report computed from
the raw rows (tests/handoff/raw_reports.py, the queries used before the summaries), to the
bit, for ranges that start and end inside days, on midnights and within one day.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import db
from app.handoff.ranges import percentile_cont, split_range
from app.handoff.summaries import SHARDED, fold_shards
from app.models.auth import Role
from app.models.handoff import BlockedAttempt, Pipeline, StageEvent
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.handoff import raw_reports
from tests.handoff.factories import default_pipeline, insert_blocked, insert_events
from tests.support import Api, Caller

JAN = datetime(2025, 1, 1, tzinfo=UTC)
STAGES = ["PROSPECT", "QUALIFIED", "OPPORTUNITY", "CUSTOMER", "LOST"]
REQUIREMENTS = ["attribute:budget", "attribute:timeline", "field:website"]
BLOCKERS = ["contact_role:DECISION_MAKER", "activity_within:30", "field:industry"]


def at(days: float = 0, hours: float = 0) -> datetime:
    return JAN + timedelta(days=days, hours=hours)


RANGES = [
    (at(0), at(10)),  # whole days only
    (at(0, 3), at(9, 5)),  # partial days at both ends
    (at(1, 1), at(1, 20)),  # inside one day
    (at(2, 23), at(3, 1)),  # across a midnight, no whole day
    (at(-1, 7.5), at(11, 0.25)),
]


async def _random_events(session: AsyncSession, pipeline: Pipeline, rnd: random.Random) -> None:
    accounts = [await create_account(session, name=f"Summary {i}") for i in range(4)]
    for account in accounts:
        moves: list[tuple[str | None, str, datetime]] = [(None, "PROSPECT", at(-1))]
        moment = at(-1)
        for _ in range(12):
            moment += timedelta(seconds=rnd.choice([0, 60, 60, 3600, rnd.uniform(1, 200_000)]))
            moves.append((moves[-1][1], rnd.choice(STAGES), moment))
        touches = [rnd.choice([0, 1, 2, 5]) for _ in moves[1:]]
        await insert_events(session, pipeline, account.id, moves, touches=touches)
    for i in range(40):
        when = at(rnd.uniform(-1, 11))
        wait = rnd.choice([None, 0.0, 30.0, 30.0, -5.0, rnd.uniform(1, 400_000)])
        session.add(
            StageEvent(
                account_id=accounts[i % 4].id,
                pipeline_id=pipeline.id,
                from_stage="QUALIFIED",
                to_stage="OPPORTUNITY",
                trigger="handoff",
                is_handoff=True,
                occurred_at=when,
                missing_recommended=rnd.sample(REQUIREMENTS, rnd.randint(0, 2)),
                seconds_in_previous_stage=rnd.choice([None, 0.0, -1.0, 45.5, 45.5, 1e7]),
                touches_in_previous_stage=rnd.choice([None, 3]),
                accepted_at=None if wait is None else when + timedelta(seconds=wait),
            )
        )
    for i in range(25):
        missing = rnd.sample(BLOCKERS, rnd.randint(1, 3))
        await insert_blocked(
            session, pipeline, accounts[i % 4].id, missing, at(rnd.uniform(-1, 11))
        )
    await session.commit()


BULK = text("""
INSERT INTO stage_events (account_id, pipeline_id, from_stage, to_stage, trigger, occurred_at,
                          is_handoff, missing_recommended, seconds_in_previous_stage,
                          touches_in_previous_stage, accepted_at)
SELECT :account_id, :pipeline_id, (ARRAY['PROSPECT', 'QUALIFIED', NULL])[1 + i % 3],
       (ARRAY['QUALIFIED', 'OPPORTUNITY', 'LOST', 'CUSTOMER'])[1 + i % 4], 'bulk',
       timestamptz '2025-01-01 00:00Z' + (i * 7919 % 1000) * interval '17 minutes',
       i % 5 = 0, CASE WHEN i % 10 = 0 THEN ARRAY['attribute:budget'] ELSE '{}' END,
       (i * 104729 % 5000)::float8 / 7, i % 3,
       CASE WHEN i % 15 = 0 THEN timestamptz '2025-01-03 00:00Z' + i * interval '1 minute' END
FROM generate_series(1, 300) AS i
""")


async def _more_writes(api: Api, pipeline: Pipeline, manager: Caller) -> None:
    session = api.session
    keep, gone = await create_account(session, name="Keep"), await create_account(session)
    await session.execute(BULK, {"account_id": gone.id, "pipeline_id": pipeline.id})
    # Accept pending handoffs, shift stays, delete some events and blocked attempts.
    await session.execute(
        update(StageEvent)
        .where(StageEvent.is_handoff, StageEvent.accepted_at.is_(None), StageEvent.id % 2 == 0)
        .values(accepted_at=StageEvent.occurred_at + timedelta(hours=7))
    )
    await session.execute(
        update(StageEvent)
        .where(StageEvent.id % 7 == 0)
        .values(
            seconds_in_previous_stage=StageEvent.seconds_in_previous_stage * 3,
            occurred_at=StageEvent.occurred_at + timedelta(hours=13),
        )
    )
    await session.execute(delete(StageEvent).where(StageEvent.id % 11 == 0))
    await session.execute(delete(BlockedAttempt).where(BlockedAttempt.id % 4 == 0))
    await session.commit()
    # Through the API: a merge (moves events and blocked attempts), moves, a blocked move
    # and an acceptance.
    merged = await api.op(
        "MergeAccounts",
        {
            "input": {
                "survivorId": to_global_id("Account", keep.id),
                "duplicateId": to_global_id("Account", gone.id),
            }
        },
        caller=manager,
    )
    assert merged["mergeAccounts"]["errors"] == []
    for trigger in ("lose", "reopen", "qualify"):
        moved = await api.op(
            "TransitionAccount",
            {"input": {"accountId": to_global_id("Account", keep.id), "trigger": trigger}},
            caller=manager,
        )
        expected = ["GATE_BLOCKED"] if trigger == "qualify" else []
        assert [e["code"] for e in moved["transitionAccount"]["errors"]] == expected
    pending = await session.scalar(
        text("SELECT min(id) FROM stage_events WHERE is_handoff AND accepted_at IS NULL")
    )
    accepted = await api.op(
        "AcceptHandoff",
        {"input": {"eventId": to_global_id("StageEvent", pending), "nextStep": "Call"}},
        caller=manager,
    )
    assert accepted["acceptHandoff"]["errors"] == []


async def _assert_summaries_match(session: AsyncSession) -> None:
    for table, reference in raw_reports.SUMMARIES.items():
        stored = (await session.execute(text(raw_reports.STORED[table]))).all()
        expected = (await session.execute(text(reference))).all()
        assert [tuple(r) for r in stored] == [tuple(r) for r in expected], table


async def _raw_throughput(
    session: AsyncSession, pipeline: Pipeline, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    params = {
        "pipeline_id": pipeline.id,
        "start": start,
        "end": end,
        "keys": [s["key"] for s in pipeline.stages],
        "kinds": [s["kind"] for s in pipeline.stages],
    }
    rows = await session.execute(raw_reports.THROUGHPUT, params)
    names = ["entered", "exited", "current", "medianSecondsInStage", "p90SecondsInStage"]
    names += ["conversionRate", "touchesPerStay"]
    return [{"stage": r[0], **dict(zip(names, r[1:], strict=True))} for r in rows]


async def _raw_handoffs(
    session: AsyncSession, pipeline: Pipeline, start: datetime, end: datetime
) -> dict[str, Any]:
    params = {"pipeline_id": pipeline.id, "start": start, "end": end}
    row = (await session.execute(raw_reports.HANDOFFS, params)).one()
    handoffs, accepted, median, missing_keys, missing_n, blocked_keys, blocked_n = row
    return {
        "handoffs": handoffs,
        "accepted": accepted,
        "pending": handoffs - accepted,
        "medianSecondsToAccept": median,
        "missingRecommended": [
            {"requirement": k, "count": n, "share": n / handoffs}
            for k, n in zip(missing_keys, missing_n, strict=True)
        ],
        "blockedBy": [
            {"requirement": k, "count": n} for k, n in zip(blocked_keys, blocked_n, strict=True)
        ],
    }


async def _assert_reports_match(api: Api, manager: Caller) -> None:
    await api.session.rollback()  # a fresh snapshot: what the API wrote
    pipeline = await default_pipeline(api.session)
    for start, end in [*RANGES, (at(-2), datetime.now(UTC) + timedelta(days=1))]:
        window = {"pipeline": "default", "from": start.isoformat(), "to": end.isoformat()}
        stages = (await api.op("StageThroughput", window, caller=manager))["stageThroughput"]
        assert stages["stages"] == await _raw_throughput(api.session, pipeline, start, end), (
            start,
            end,
        )
        handoffs = (await api.op("HandoffReport", window, caller=manager))["handoffReport"]
        assert handoffs == await _raw_handoffs(api.session, pipeline, start, end), (start, end)


async def test_reports_from_summaries_equal_reports_from_raw_rows(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    pipeline = await default_pipeline(api.session)
    await _random_events(api.session, pipeline, random.Random(13))
    await _assert_summaries_match(api.session)
    await _assert_reports_match(api, manager)

    await _more_writes(api, pipeline, manager)

    await _assert_summaries_match(api.session)
    await _assert_reports_match(api, manager)


async def test_folding_shards_keeps_every_answer(api: Api, engine: AsyncEngine) -> None:
    manager = await api.caller(Role.MANAGER)
    pipeline = await default_pipeline(api.session)
    await _random_events(api.session, pipeline, random.Random(21))
    await _more_writes(api, pipeline, manager)
    for table, keys in SHARDED.items():  # as if written from another backend
        same = " AND ".join(f"o.{k} = t.{k}" for k in keys)
        await api.session.execute(
            text(
                f"UPDATE {table} t SET shard = 7 WHERE shard = 0 AND NOT EXISTS"
                f" (SELECT 1 FROM {table} o WHERE {same} AND o.shard = 7)"
            )
        )
    await api.session.commit()
    assert await _shard_rows(api.session) > 0

    assert await fold_shards(db.create_sessionmaker(engine)) is True

    assert await _shard_rows(api.session) == 0
    await _assert_summaries_match(api.session)
    await _assert_reports_match(api, manager)


async def _shard_rows(session: AsyncSession) -> int:
    """Rows of past days outside shard 0, over the sharded summaries."""
    await session.rollback()
    total = 0
    for table in SHARDED:
        query = f"SELECT count(*) FROM {table} WHERE shard <> 0 AND day < current_date"
        total += int(await session.scalar(text(query)) or 0)
    return total


async def test_truncate_empties_the_summaries(api: Api) -> None:
    pipeline = await default_pipeline(api.session)
    await _random_events(api.session, pipeline, random.Random(5))
    assert await api.session.scalar(text("SELECT count(*) FROM stage_day_pairs")) > 0

    await api.session.execute(text("TRUNCATE stage_events, blocked_attempts"))

    for table in raw_reports.SUMMARIES:
        assert await api.session.scalar(text(f"SELECT count(*) FROM {table}")) == 0


def test_a_range_splits_into_whole_days_and_raw_ends() -> None:
    split = split_range(at(0, 3), at(9, 5))
    assert (split.head_end, split.tail_start) == (at(1), at(9))
    assert (split.day_from, split.day_to) == (at(1).date(), at(9).date())
    on_midnights = split_range(at(0), at(10))
    assert (on_midnights.head_end, on_midnights.tail_start) == (at(0), at(10))
    inside = split_range(at(1, 1), at(1, 20))
    assert (inside.head_end, inside.tail_start, inside.day_from) == (
        at(1, 20),
        at(1, 20),
        inside.day_to,
    )


async def test_percentile_cont_matches_postgresql(session: AsyncSession) -> None:
    rnd = random.Random(7)
    for size in (1, 2, 3, 10, 101, 1000):
        values = sorted(rnd.choice([rnd.uniform(-1e6, 1e9), 0.1, 3.0]) for _ in range(size))
        for fraction in (0.5, 0.9, 0.25, 0.999):
            expected = await session.scalar(
                text(
                    "SELECT percentile_cont(CAST(:f AS float8)) WITHIN GROUP (ORDER BY v)"
                    " FROM unnest(CAST(:vs AS float8[])) AS v"
                ),
                {"f": fraction, "vs": values},
            )
            assert percentile_cont(fraction, size, dict(enumerate(values))) == expected
    assert percentile_cont(0.5, 0, {}) is None
