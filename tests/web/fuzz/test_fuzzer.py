"""The fuzz checks themselves: they must see what they are meant to catch."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.auth import service as auth
from app.kit.actor import SYSTEM
from app.models.auth import Role
from tests.web.fuzz import fuzzer, generate


def test_outcome_fields_are_added_under_aliases() -> None:
    query, key = fuzzer._with_outcome_fields(
        "mutation { done: logActivities(input: {activities: []}) { duplicateCount } }"
    )
    assert key == "done"
    assert "fuzzErrors: errors" in query
    assert "fuzzAccepted: acceptedCount" in query


def test_outcome_of_answers() -> None:
    failed = {"data": {"m": {"fuzzErrors": [{"code": "NOT_FOUND"}]}}}
    assert fuzzer.outcome(failed, "m") == ("failed", frozenset())
    assert fuzzer.outcome({"data": None, "errors": [{}]}, "m")[0] == "failed"
    assert fuzzer.outcome({"data": {"m": {"fuzzErrors": []}}}, "m")[0] == "succeeded"
    assert fuzzer.outcome({"data": {"m": {"fuzzErrors": None}}}, "m")[0] == "unknown"
    nothing = {"data": {"m": {"fuzzErrors": [], "fuzzAccepted": 0}}}
    assert fuzzer.outcome(nothing, "m") == ("stored nothing", frozenset({"audit_log"}))


def test_internal_errors_are_recognised() -> None:
    body = {
        "errors": [
            {"message": "Malformed id.", "extensions": {"code": "INVALID_ID"}},
            {"message": "Internal error", "extensions": {"code": "INTERNAL"}},
            {"message": "x", "extensions": {"code": "INTERNAL"}},
        ]
    }
    assert len(fuzzer.internal_errors(body)) == 2
    assert fuzzer.internal_errors({"data": {}}) == []


async def test_snapshot_sees_any_write(engine: AsyncEngine, session: AsyncSession) -> None:
    sql = fuzzer.snapshot_sql()
    before = await fuzzer.snapshot(engine, sql)
    assert await fuzzer.snapshot(engine, sql) == before
    await auth.create_user(session, actor=SYSTEM, email="w@example.org", name="W", role=Role.REP)
    await session.commit()
    after = await fuzzer.snapshot(engine, sql)
    assert sorted(k for k in before if before[k] != after[k]) == ["audit_log", "users"]


def test_generation_is_deterministic() -> None:
    pool = generate.IdPool()
    first = generate.generate(pool, count=20, seed_value=3)
    assert generate.generate(pool, count=20, seed_value=3) == first
    assert any(fuzzer.is_mutation(q) for q in first)
