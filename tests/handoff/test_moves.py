"""What one move writes (entry, stage event, audit row), and what the same request reads next."""

from __future__ import annotations

from sqlalchemy import select

from app.handoff import service
from app.kit.actor import Actor
from app.models.audit import AuditEntry
from app.models.auth import Role
from schema.relay import from_global_id, to_global_id
from tests.accounts.factories import create_account
from tests.handoff.factories import default_pipeline, entry_of, events_of
from tests.support import Api


async def test_a_move_writes_the_entry_its_event_and_an_audit_row(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session)
    pipeline = await default_pipeline(api.session)
    entry = await entry_of(api.session, account.id, pipeline.id)
    entry.owner_id = rep.user_id
    await api.session.commit()
    variables = {
        "input": {
            "accountId": to_global_id("Account", account.id),
            "trigger": "lose",
            "note": "  went with a competitor ",
        }
    }

    data = (await api.op("TransitionAccount", variables, caller=manager))["transitionAccount"]

    assert data["errors"] == []
    assert data["entry"]["stage"] == "LOST"
    assert data["entry"]["owner"] == {"id": rep.id}
    moved = await entry_of(api.session, account.id, pipeline.id)
    events = await events_of(api.session, account.id)
    assert [(e.from_stage, e.to_stage, e.trigger) for e in events] == [
        (None, "PROSPECT", "enter"),
        ("PROSPECT", "LOST", "lose"),
    ]
    event = events[-1]
    assert data["event"]["id"] == to_global_id("StageEvent", event.id)
    assert from_global_id(data["event"]["id"])[1] == event.id
    assert (moved.stage, moved.owner_id, moved.entered_at) == (
        "LOST",
        rep.user_id,
        event.occurred_at,
    )
    assert (event.actor_id, event.from_owner_id, event.to_owner_id) == (
        manager.user_id,
        rep.user_id,
        rep.user_id,
    )
    assert (event.is_handoff, event.reason, event.benefit) == (False, None, None)
    assert event.note == "went with a competitor"
    assert event.missing_recommended == []
    assert event.touches_in_previous_stage == 0
    assert event.seconds_in_previous_stage is not None
    expected = (event.occurred_at - events[0].occurred_at).total_seconds()
    assert abs(event.seconds_in_previous_stage - expected) < 1e-6
    assert data["event"]["secondsInPreviousStage"] == event.seconds_in_previous_stage
    audit = (
        await api.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "pipeline.move", AuditEntry.entity_id == account.id
            )
        )
    ).all()
    assert [(a.entity_type, a.actor_user_id, a.changes) for a in audit] == [
        ("Account", manager.user_id, {"stage": {"before": "PROSPECT", "after": "LOST"}})
    ]
    assert audit[0].actor_token_id is not None


async def test_later_fields_of_the_same_request_read_the_moved_entry(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    account = await create_account(api.session)
    account_id = to_global_id("Account", account.id)
    # Three mutations on one session: enter, then two moves; the last reads the entry back.
    query = """mutation($id: ID!) {
      enter: enterPipeline(input: {accountId: $id, pipeline: "default2"}) { errors { code } }
      first: transitionAccount(input: {accountId: $id, pipeline: "default2", trigger: "lose"}) {
        entry { stage } errors { code } }
      second: transitionAccount(
        input: {accountId: $id, pipeline: "default2", trigger: "reopen"}) {
        entry { stage }
        event { fromStage toStage account { pipelineEntry(pipeline: "default2") { stage } } }
        errors { code } }
    }"""
    pipeline = await default_pipeline(api.session)
    define = {
        "input": {
            "key": "default2",
            "name": "Default 2",
            "stages": [
                {k: v for k, v in stage.items() if k in ("key", "name", "kind")}
                for stage in pipeline.stages
            ],
            "transitions": pipeline.transitions,
        }
    }
    assert (await api.op("DefinePipeline", define, caller=admin))["definePipeline"]["errors"] == []

    data = await api.data(query, {"id": account_id}, caller=admin)

    assert data["enter"] == {"errors": []}
    assert data["first"] == {"entry": {"stage": "LOST"}, "errors": []}
    assert data["second"] == {
        "entry": {"stage": "PROSPECT"},
        "event": {
            "fromStage": "LOST",
            "toStage": "PROSPECT",
            "account": {"pipelineEntry": {"stage": "PROSPECT"}},
        },
        "errors": [],
    }


async def test_a_move_updates_the_entry_object_its_session_holds(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session)
    pipeline = await default_pipeline(api.session)
    held = await entry_of(api.session, account.id, pipeline.id)
    actor = Actor(user_id=manager.user_id, role=Role.MANAGER)

    done = await service.transition_account(
        api.session,
        actor=actor,
        account_id=account.id,
        pipeline_key="default",
        move=service.MoveInput(trigger="lose"),
    )

    assert done.entry is held
    assert (held.stage, held.entered_at) == ("LOST", done.event.occurred_at)
    await api.session.commit()
    assert (await entry_of(api.session, account.id, pipeline.id)).stage == "LOST"
