"""Every operation of contract/handoff.graphql, run as written over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.models.accounts import Account, BuyingRole
from app.models.auth import Role
from app.models.handoff import BlockedAttempt, Pipeline, StageEvent
from schema.relay import from_global_id, to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.handoff.factories import (
    count_rows,
    default_pipeline,
    entry_of,
    events_of,
    log_activity,
    qualified_account,
)
from tests.support import Api, Caller

DEFAULT_STAGES = [
    {"key": "PROSPECT", "name": "Prospect", "kind": "OPEN", "necessary": [], "recommended": []},
    {
        "key": "QUALIFIED",
        "name": "Qualified",
        "kind": "OPEN",
        "necessary": ["field:industry"],
        "recommended": ["contact_role:DECISION_MAKER", "field:website"],
    },
    {
        "key": "OPPORTUNITY",
        "name": "Opportunity",
        "kind": "OPEN",
        "necessary": ["contact_role:DECISION_MAKER", "activity_within:30"],
        "recommended": ["attribute:budget", "attribute:timeline"],
    },
    {"key": "CUSTOMER", "name": "Customer", "kind": "WON", "necessary": [], "recommended": []},
    {"key": "LOST", "name": "Lost", "kind": "LOST", "necessary": [], "recommended": []},
]
DEFAULT_TRANSITIONS = [
    {"trigger": "qualify", "sources": ["PROSPECT"], "dest": "QUALIFIED", "handoff": False},
    {"trigger": "handoff", "sources": ["QUALIFIED"], "dest": "OPPORTUNITY", "handoff": True},
    {"trigger": "win", "sources": ["OPPORTUNITY"], "dest": "CUSTOMER", "handoff": False},
    {
        "trigger": "lose",
        "sources": ["PROSPECT", "QUALIFIED", "OPPORTUNITY"],
        "dest": "LOST",
        "handoff": False,
    },
    {"trigger": "reopen", "sources": ["LOST"], "dest": "PROSPECT", "handoff": False},
]
TWO_STAGES: dict[str, Any] = {
    "key": "renewal",
    "name": "Renewal",
    "stages": [
        {"key": "OPEN", "name": "Open"},
        {"key": "DONE", "name": "Done", "kind": "WON", "recommended": ["plan:active"]},
    ],
    "transitions": [{"trigger": "close", "sources": ["OPEN"], "dest": "DONE"}],
}


def account_id(pk: int) -> str:
    return to_global_id("Account", pk)


async def move(api: Api, caller: Caller, pk: int, trigger: str, **extra: Any) -> dict[str, Any]:
    variables = {"input": {"accountId": account_id(pk), "trigger": trigger, **extra}}
    result: dict[str, Any] = (await api.op("TransitionAccount", variables, caller=caller))[
        "transitionAccount"
    ]
    return result


async def test_pipelines_lists_the_seeded_default(api: Api) -> None:
    rep = await api.caller(Role.REP)
    data = await api.op("Pipelines", caller=rep)
    assert data["pipelines"] == [
        {
            "key": "default",
            "name": "Default",
            "isDefault": True,
            "stages": DEFAULT_STAGES,
            "transitions": DEFAULT_TRANSITIONS,
        }
    ]


async def test_integration_may_not_read_pipelines(api: Api) -> None:
    bot = await api.caller(Role.INTEGRATION)
    result = await api.gql("query { pipelines { key } }", caller=bot)
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_define_pipeline_stores_and_lists_it(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    data = await api.op("DefinePipeline", {"input": TWO_STAGES}, caller=admin)
    assert data["definePipeline"] == {
        "pipeline": {
            "key": "renewal",
            "name": "Renewal",
            "stages": [
                {"key": "OPEN", "kind": "OPEN", "necessary": [], "recommended": []},
                {"key": "DONE", "kind": "WON", "necessary": [], "recommended": ["plan:active"]},
            ],
            "transitions": [
                {"trigger": "close", "sources": ["OPEN"], "dest": "DONE", "handoff": False}
            ],
        },
        "errors": [],
    }
    keys = [p["key"] for p in (await api.op("Pipelines", caller=admin))["pipelines"]]
    assert keys == ["default", "renewal"]


async def test_define_pipeline_rejects_bad_definitions_and_stores_nothing(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"transitions": [{"trigger": "close", "sources": ["OPEN"], "dest": "NOPE"}]}, "NOPE"),
        (
            {
                "transitions": [
                    {"trigger": "close", "sources": ["OPEN"], "dest": "DONE"},
                    {"trigger": "close", "sources": ["OPEN"], "dest": "OPEN"},
                ]
            },
            "defined twice from stage 'OPEN'",
        ),
        ({"stages": [], "transitions": []}, "at least one stage"),
        (
            {"stages": [{"key": "OPEN", "name": "Open", "necessary": ["vibes:good"]}]},
            "unknown requirement kind in 'vibes:good'",
        ),
        (
            {"stages": [{"key": "OPEN", "name": "Open", "necessary": ["contact_role:BOSS"]}]},
            "unknown buying role",
        ),
    ]
    for change, message in cases:
        payload = {**TWO_STAGES, **change}
        if "stages" in change and "transitions" not in change:
            payload["transitions"] = []
        data = (await api.op("DefinePipeline", {"input": payload}, caller=admin))["definePipeline"]
        assert data["pipeline"] is None
        assert [e["code"] for e in data["errors"]] == ["INVALID_PIPELINE"]
        assert message in data["errors"][0]["message"]
    assert await count_rows(api.session, Pipeline) == 1


async def test_only_admins_define_pipelines(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    data = await api.op("DefinePipeline", {"input": TWO_STAGES}, caller=manager)
    assert data["definePipeline"]["errors"][0]["code"] == "FORBIDDEN"
    assert await count_rows(api.session, Pipeline) == 1


async def test_redefining_may_add_but_not_remove_a_held_stage(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    await api.op("DefinePipeline", {"input": TWO_STAGES}, caller=admin)
    account = await create_account(api.session)
    variables = {"input": {"accountId": account_id(account.id), "pipeline": "renewal"}}
    await api.op("EnterPipeline", variables, caller=admin)
    without_open = {
        **TWO_STAGES,
        "stages": [{"key": "DONE", "name": "Done", "kind": "WON"}],
        "transitions": [],
    }
    data = (await api.op("DefinePipeline", {"input": without_open}, caller=admin))["definePipeline"]
    assert data["errors"][0]["code"] == "INVALID_PIPELINE"
    assert "OPEN holds 1 entries" in data["errors"][0]["message"]
    grown = {
        **TWO_STAGES,
        "stages": [*TWO_STAGES["stages"], {"key": "LOST", "name": "Lost", "kind": "LOST"}],
        "transitions": [
            *TWO_STAGES["transitions"],
            {"trigger": "drop", "sources": ["OPEN"], "dest": "LOST"},
        ],
    }
    data = (await api.op("DefinePipeline", {"input": grown}, caller=admin))["definePipeline"]
    assert data["errors"] == []
    moved = await move(api, admin, account.id, "drop", pipeline="renewal")
    assert moved["errors"] == []
    assert moved["entry"]["stage"] == "LOST"


async def test_new_accounts_enter_the_default_pipeline(api: Api) -> None:
    rep = await api.caller(Role.REP)
    bot = await api.caller(Role.INTEGRATION)
    created = await api.op("CreateAccount", {"input": {"name": "By Rep"}}, caller=rep)
    by_bot = await api.op("CreateAccount", {"input": {"name": "By Bot"}}, caller=bot)
    listing = await api.op("AccountList", {"first": 10}, caller=rep)
    entries = {e["node"]["name"]: e["node"]["pipelineEntry"] for e in listing["accounts"]["edges"]}
    assert entries["By Rep"]["stage"] == "PROSPECT"
    assert entries["By Rep"]["owner"]["id"] == rep.id
    assert entries["By Rep"]["secondsInStage"] >= 0
    assert entries["By Bot"]["owner"] is None
    for payload in (created, by_bot):
        detail = await api.op(
            "AccountDetail", {"id": payload["createAccount"]["account"]["id"]}, caller=rep
        )
        history = detail["node"]["stageHistory"]
        assert [(h["fromStage"], h["toStage"], h["trigger"]) for h in history] == [
            (None, "PROSPECT", "enter")
        ]
        assert history[0]["secondsInPreviousStage"] is None
    assert detail["node"]["stageHistory"][0]["actor"] == {"id": bot.id}


async def test_enter_pipeline_places_the_account_once(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    rep = await api.caller(Role.REP)
    await api.op("DefinePipeline", {"input": TWO_STAGES}, caller=admin)
    account = await create_account(api.session)
    variables = {
        "input": {"accountId": account_id(account.id), "pipeline": "renewal", "ownerId": rep.id}
    }
    data = (await api.op("EnterPipeline", variables, caller=admin))["enterPipeline"]
    assert data["errors"] == []
    assert data["entry"]["stage"] == "OPEN"
    assert data["entry"]["owner"] == {"id": rep.id}
    assert data["entry"]["pipeline"] == {"key": "renewal"}
    again = (await api.op("EnterPipeline", variables, caller=admin))["enterPipeline"]
    assert again["entry"] is None
    assert [e["code"] for e in again["errors"]] == ["ALREADY_IN_PIPELINE"]
    events = await events_of(api.session, account.id)
    assert [(e.trigger, e.to_stage) for e in events] == [("enter", "PROSPECT"), ("enter", "OPEN")]


async def test_enter_pipeline_is_rep_scoped(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    rep = await api.caller(Role.REP)
    await api.op("DefinePipeline", {"input": TWO_STAGES}, caller=admin)
    account = await create_account(api.session)
    variables = {"input": {"accountId": account_id(account.id), "pipeline": "renewal"}}
    data = (await api.op("EnterPipeline", variables, caller=rep))["enterPipeline"]
    assert [e["code"] for e in data["errors"]] == ["FORBIDDEN"]
    assert len(await events_of(api.session, account.id)) == 1


async def test_gate_blocks_with_every_missing_requirement_and_keeps_only_the_attempt(
    api: Api,
) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, industry="Retail")
    assert (await move(api, manager, account.id, "qualify"))["errors"] == []
    blocked = await move(
        api, manager, account.id, "handoff", reason="r", benefit="b", toOwnerId=manager.id
    )
    assert blocked["entry"] is None
    assert blocked["event"] is None
    assert blocked["errors"] == [
        {
            "code": "GATE_BLOCKED",
            "message": "Cannot enter OPPORTUNITY: missing contact_role:DECISION_MAKER, "
            "activity_within:30.",
            "field": "trigger",
            "missing": ["contact_role:DECISION_MAKER", "activity_within:30"],
        }
    ]
    pipeline = await default_pipeline(api.session)
    entry = await entry_of(api.session, account.id, pipeline.id)
    assert entry.stage == "QUALIFIED"
    assert len(await events_of(api.session, account.id)) == 2
    assert await count_rows(api.session, BlockedAttempt) == 1


async def test_qualify_records_missing_recommended(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session)
    blocked = await move(api, manager, account.id, "qualify")
    assert blocked["errors"][0]["missing"] == ["field:industry"]
    await api.op(
        "UpdateAccount",
        {"input": {"id": account_id(account.id), "industry": "Retail"}},
        caller=manager,
    )
    moved = await move(api, manager, account.id, "qualify", note="first call went well")
    assert moved["errors"] == []
    event = moved["event"]
    assert (event["fromStage"], event["toStage"], event["trigger"]) == (
        "PROSPECT",
        "QUALIFIED",
        "qualify",
    )
    assert event["missingRecommended"] == ["contact_role:DECISION_MAKER", "field:website"]
    assert event["secondsInPreviousStage"] >= 0
    assert event["fromOwner"] is None
    assert event["toOwner"] is None
    assert moved["entry"]["stage"] == "QUALIFIED"
    assert moved["entry"]["secondsInStage"] < 5


async def test_invalid_and_unknown_triggers(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session)
    for trigger in ("win", "teleport"):
        data = await move(api, manager, account.id, trigger)
        assert [e["code"] for e in data["errors"]] == ["INVALID_TRANSITION"]
    assert len(await events_of(api.session, account.id)) == 1


async def test_handoff_needs_reason_benefit_and_new_owner(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await qualified_account(api.session)
    assert (await move(api, manager, account.id, "qualify"))["errors"] == []
    data = await move(api, manager, account.id, "handoff", reason="  ")
    assert [(e["code"], e["field"]) for e in data["errors"]] == [
        ("HANDOFF_REASON_REQUIRED", "reason"),
        ("HANDOFF_REASON_REQUIRED", "benefit"),
        ("INVALID_INPUT", "toOwnerId"),
    ]
    assert len(await events_of(api.session, account.id)) == 2


async def test_handoff_moves_owner_and_waits_for_acceptance(api: Api) -> None:
    sdr = await api.caller(Role.REP)
    ae = await api.caller(Role.REP)
    other = await api.caller(Role.REP)
    created = await api.op(
        "CreateAccount",
        {"input": {"name": "Handed", "industry": "Retail", "attributes": {"budget": 10}}},
        caller=sdr,
    )
    _, pk = from_global_id(created["createAccount"]["account"]["id"])
    account = await api.session.get_one(Account, pk)
    await create_contact(api.session, account, role=BuyingRole.DECISION_MAKER)
    await log_activity(api.session, account.id, datetime.now(UTC) - timedelta(days=2))
    assert (await move(api, sdr, account.id, "qualify"))["errors"] == []
    data = await move(
        api,
        sdr,
        account.id,
        "handoff",
        reason="Ready to buy",
        benefit="One contact",
        toOwnerId=ae.id,
    )
    assert data["errors"] == []
    assert data["entry"]["owner"] == {"id": ae.id}
    event = data["event"]
    assert event["fromOwner"] == {"id": sdr.id}
    assert event["toOwner"] == {"id": ae.id}
    assert (event["reason"], event["benefit"]) == ("Ready to buy", "One contact")
    assert event["missingRecommended"] == ["attribute:timeline"]
    assert (await move(api, sdr, account.id, "win"))["errors"][0]["code"] == "FORBIDDEN"

    pending = await api.op("PendingHandoffs", {"pipeline": None, "first": 10}, caller=other)
    assert pending["pendingHandoffs"]["totalCount"] == 1
    node = pending["pendingHandoffs"]["edges"][0]["node"]
    assert node["id"] == event["id"]
    assert node["account"] == {"id": account_id(account.id), "name": "Handed"}
    assert node["toOwner"] == {"id": ae.id}

    accept = {
        "input": {
            "eventId": event["id"],
            "nextStep": "Call CFO",
            "nextStepDue": "2030-01-02T09:00:00+00:00",
        }
    }
    refused = (await api.op("AcceptHandoff", accept, caller=other))["acceptHandoff"]
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    accepted = (await api.op("AcceptHandoff", accept, caller=ae))["acceptHandoff"]
    assert accepted["errors"] == []
    assert accepted["event"]["acceptedBy"] == {"id": ae.id}
    assert accepted["event"]["nextStep"] == "Call CFO"
    assert accepted["event"]["nextStepDue"] == "2030-01-02T09:00:00+00:00"
    assert accepted["event"]["acceptedAt"] is not None
    twice = (await api.op("AcceptHandoff", accept, caller=ae))["acceptHandoff"]
    assert [e["code"] for e in twice["errors"]] == ["HANDOFF_ALREADY_ACCEPTED"]
    pending = await api.op("PendingHandoffs", {"pipeline": "default", "first": 10}, caller=ae)
    assert pending["pendingHandoffs"] == {"totalCount": 0, "edges": []}

    assert (await move(api, ae, account.id, "win"))["entry"]["stage"] == "CUSTOMER"
    detail = await api.op("AccountDetail", {"id": account_id(account.id)}, caller=ae)
    history = detail["node"]["stageHistory"]
    assert [(h["fromStage"], h["toStage"]) for h in history] == [
        (None, "PROSPECT"),
        ("PROSPECT", "QUALIFIED"),
        ("QUALIFIED", "OPPORTUNITY"),
        ("OPPORTUNITY", "CUSTOMER"),
    ]
    assert history[2]["nextStep"] == "Call CFO"
    assert history[3]["actor"] == {"id": ae.id}


async def test_rep_moves_only_own_entries_and_integrations_none(api: Api) -> None:
    owner = await api.caller(Role.REP)
    stranger = await api.caller(Role.REP)
    bot = await api.caller(Role.INTEGRATION)
    created = await api.op("CreateAccount", {"input": {"name": "Mine"}}, caller=owner)
    gid = created["createAccount"]["account"]["id"]
    for caller in (stranger, bot):
        data = (
            await api.op(
                "TransitionAccount", {"input": {"accountId": gid, "trigger": "lose"}}, caller=caller
            )
        )["transitionAccount"]
        assert [e["code"] for e in data["errors"]] == ["FORBIDDEN"]
    data = (
        await api.op(
            "TransitionAccount", {"input": {"accountId": gid, "trigger": "lose"}}, caller=owner
        )
    )["transitionAccount"]
    assert data["entry"]["stage"] == "LOST"


async def test_a_rep_owning_the_entry_may_write_the_account(api: Api) -> None:
    owner = await api.caller(Role.REP)
    stranger = await api.caller(Role.REP)
    created = await api.op("CreateAccount", {"input": {"name": "Mine"}}, caller=owner)
    gid = created["createAccount"]["account"]["id"]
    update = {"input": {"id": gid, "industry": "Retail"}}
    refused = (await api.op("UpdateAccount", update, caller=stranger))["updateAccount"]
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    allowed = (await api.op("UpdateAccount", update, caller=owner))["updateAccount"]
    assert allowed["account"]["industry"] == "Retail"


async def test_reports_run_as_written(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await qualified_account(api.session)
    await move(api, manager, account.id, "qualify")
    await move(api, manager, account.id, "handoff", reason="r", benefit="b", toOwnerId=rep.id)
    other = await create_account(api.session, name="Blocked")
    await move(api, manager, other.id, "qualify")
    window = {
        "pipeline": None,
        "from": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "to": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    throughput = (await api.op("StageThroughput", window, caller=manager))["stageThroughput"]
    assert throughput["pipeline"] == {"key": "default"}
    stats = {s["stage"]: s for s in throughput["stages"]}
    assert list(stats) == ["PROSPECT", "QUALIFIED", "OPPORTUNITY", "CUSTOMER", "LOST"]
    assert (stats["PROSPECT"]["entered"], stats["PROSPECT"]["exited"]) == (2, 1)
    assert stats["PROSPECT"]["current"] == 1
    assert stats["PROSPECT"]["conversionRate"] == 1.0
    assert stats["OPPORTUNITY"]["current"] == 1
    assert stats["CUSTOMER"]["conversionRate"] is None
    report = (await api.op("HandoffReport", window, caller=manager))["handoffReport"]
    assert report == {
        "handoffs": 1,
        "accepted": 0,
        "pending": 1,
        "medianSecondsToAccept": None,
        "missingRecommended": [
            {"requirement": "attribute:budget", "count": 1, "share": 1.0},
            {"requirement": "attribute:timeline", "count": 1, "share": 1.0},
        ],
        "blockedBy": [{"requirement": "field:industry", "count": 1}],
    }
    rep_result = await api.gql(
        'query { handoffReport(from: "2020-01-01T00:00:00Z", to: "2030-01-01T00:00:00Z") '
        "{ handoffs } }",
        caller=rep,
    )
    assert rep_result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await count_rows(api.session, StageEvent) == 4


async def test_a_new_default_pipeline_takes_new_accounts(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    data = await api.op(
        "DefinePipeline", {"input": {**TWO_STAGES, "isDefault": True}}, caller=admin
    )
    assert data["definePipeline"]["errors"] == []
    flags = {
        p["key"]: p["isDefault"] for p in (await api.op("Pipelines", caller=admin))["pipelines"]
    }
    assert flags == {"default": False, "renewal": True}
    account = await create_account(api.session)
    events = await events_of(api.session, account.id)
    assert [(e.trigger, e.to_stage) for e in events] == [("enter", "OPEN")]


async def test_pending_handoffs_are_oldest_first_and_paged(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    ae = await api.caller(Role.REP)
    accounts = [await qualified_account(api.session, name=f"Q{i}") for i in range(3)]
    event_ids = []
    for account in accounts:
        await move(api, manager, account.id, "qualify")
        data = await move(
            api, manager, account.id, "handoff", reason="r", benefit="b", toOwnerId=ae.id
        )
        event_ids.append(data["event"]["id"])
    first = await api.op("PendingHandoffs", {"pipeline": "default", "first": 2}, caller=manager)
    page = first["pendingHandoffs"]
    assert page["totalCount"] == 3
    assert [e["node"]["id"] for e in page["edges"]] == event_ids[:2]
    assert [e["node"]["account"]["name"] for e in page["edges"]] == ["Q0", "Q1"]
    bot = await api.caller(Role.INTEGRATION)
    refused = await api.gql("query { pendingHandoffs { totalCount } }", caller=bot)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_accept_handoff_refuses_other_events_and_integrations(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    bot = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session)
    enter_event = (await events_of(api.session, account.id))[0]
    accept = {"input": {"eventId": to_global_id("StageEvent", enter_event.id), "nextStep": "x"}}
    data = (await api.op("AcceptHandoff", accept, caller=manager))["acceptHandoff"]
    assert [(e["code"], e["field"]) for e in data["errors"]] == [("NOT_FOUND", "eventId")]
    data = (await api.op("AcceptHandoff", accept, caller=bot))["acceptHandoff"]
    assert [e["code"] for e in data["errors"]] == ["FORBIDDEN"]
    blank = {"input": {"eventId": accept["input"]["eventId"], "nextStep": "  "}}
    data = (await api.op("AcceptHandoff", blank, caller=manager))["acceptHandoff"]
    assert [(e["code"], e["field"]) for e in data["errors"]] == [("INVALID_INPUT", "nextStep")]
    await api.session.refresh(enter_event)
    assert enter_event.accepted_at is None


async def test_enter_pipeline_refuses_an_integration_owner(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    bot = await api.caller(Role.INTEGRATION)
    await api.op("DefinePipeline", {"input": TWO_STAGES}, caller=admin)
    account = await create_account(api.session)
    variables = {
        "input": {"accountId": account_id(account.id), "pipeline": "renewal", "ownerId": bot.id}
    }
    data = (await api.op("EnterPipeline", variables, caller=admin))["enterPipeline"]
    assert [(e["code"], e["field"]) for e in data["errors"]] == [("INVALID_INPUT", "ownerId")]
    assert len(await events_of(api.session, account.id)) == 1


async def test_a_move_counts_the_activities_of_the_stay_it_ends(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, industry="Retail")
    pipeline = await default_pipeline(api.session)
    entered = (await entry_of(api.session, account.id, pipeline.id)).entered_at
    await log_activity(api.session, account.id, entered - timedelta(minutes=1))
    await log_activity(api.session, account.id, entered)
    await log_activity(api.session, account.id, entered + timedelta(microseconds=1))
    await log_activity(api.session, account.id, datetime.now(UTC) + timedelta(days=1))

    moved = await move(api, manager, account.id, "qualify")

    events = await events_of(api.session, account.id)
    assert moved["event"]["id"] == to_global_id("StageEvent", events[-1].id)
    assert [e.touches_in_previous_stage for e in events] == [None, 2]
    window = {
        "pipeline": "default",
        "from": (entered - timedelta(hours=1)).isoformat(),
        "to": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    stats = (await api.op("StageThroughput", window, caller=manager))["stageThroughput"]["stages"]
    assert stats[0]["stage"] == "PROSPECT"
    assert stats[0]["touchesPerStay"] == 2.0
