"""One real write per field of the Mutation type, and the audit row and event it must leave.

Each case arranges what it needs through the services, marks, then runs the mutation's
contract operation over HTTP as the admin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.activities.ingest import ActivityInput, log_activity
from app.kit.actor import SYSTEM
from app.models.activities import ActivityKind
from app.models.assignments import ManagerType
from app.models.auth import Role
from tests.accounts.factories import create_contact
from tests.kit.writers import Expect, World, gid, yesterday, yesterday_at

Case = Callable[[World], Awaitable[None]]
CASES: dict[str, tuple[Expect, Case]] = {}


def case(
    name: str,
    action: str,
    entity_type: str,
    event: str | None,
    also: set[str] | None = None,
) -> Callable[[Case], Case]:
    def register(run: Case) -> Case:
        CASES[name] = (Expect(action, entity_type, event, frozenset(also or ())), run)
        return run

    return register


# Accounts and contacts


@case("createAccount", "account.create", "Account", "account.created")
async def _create_account(w: World) -> None:
    await w.mark()
    await w.op("CreateAccount", name="New Co")


@case("updateAccount", "account.update", "Account", "account.updated")
async def _update_account(w: World) -> None:
    account = await w.account()
    await w.mark()
    await w.op("UpdateAccount", id=gid("Account", account.id), industry="Retail", expectedVersion=1)


@case("archiveAccount", "account.archive", "Account", "account.archived")
async def _archive_account(w: World) -> None:
    account = await w.account()
    await w.mark()
    await w.op("ArchiveAccount", id=gid("Account", account.id))


@case("restoreAccount", "account.restore", "Account", "account.updated")
async def _restore_account(w: World) -> None:
    account = await w.account()
    await w.op("ArchiveAccount", id=gid("Account", account.id))
    await w.mark()
    await w.op("RestoreAccount", id=gid("Account", account.id))


@case(
    "mergeAccounts",
    "account.merge",
    "Account",
    "account.merged",
    also={"contact.updated", "assignment.changed"},
)
async def _merge_accounts(w: World) -> None:
    """The duplicate's contact moves, its SALES assignment goes, its PARTS one moves."""
    survivor, duplicate = await w.account("Survivor"), await w.account("Duplicate")
    await create_contact(w.session, duplicate)
    await w.assignment(survivor)
    await w.assignment(duplicate)
    await w.assignment(duplicate, ManagerType.PARTS)
    await w.mark()
    await w.op(
        "MergeAccounts",
        survivorId=gid("Account", survivor.id),
        duplicateId=gid("Account", duplicate.id),
    )


@case("setAccountTags", "account.tags", "Account", "account.updated")
async def _set_account_tags(w: World) -> None:
    account = await w.account()
    await w.mark()
    await w.op("SetAccountTags", accountId=gid("Account", account.id), add=["vip"])


@case("upsertAccounts", "account.upsert", "Account", "account.created")
async def _upsert_accounts(w: World) -> None:
    await w.mark()
    await w.op("UpsertAccounts", accounts=[{"externalRef": "U-1", "name": "Upserted"}])


@case("upsertContacts", "contact.create", "Contact", "contact.created")
async def _upsert_contacts(w: World) -> None:
    await w.account(external_ref="ERP-1")
    await w.mark()
    item = {"externalRef": "C-1", "accountExternalRef": "ERP-1", "name": "Ann"}
    await w.op("UpsertContacts", contacts=[item])


@case("addContact", "contact.create", "Contact", "contact.created")
async def _add_contact(w: World) -> None:
    account = await w.account()
    await w.mark()
    await w.op("AddContact", accountId=gid("Account", account.id), name="Ann")


@case("updateContact", "contact.update", "Contact", "contact.updated")
async def _update_contact(w: World) -> None:
    contact = await create_contact(w.session, await w.account())
    await w.mark()
    await w.op("UpdateContact", id=gid("Contact", contact.id), title="CFO")


@case("removeContact", "contact.remove", "Contact", "contact.removed")
async def _remove_contact(w: World) -> None:
    contact = await create_contact(w.session, await w.account())
    await w.mark()
    await w.op("RemoveContact", id=gid("Contact", contact.id))


# Assignments and cadence


@case("assignAccount", "assignment.create", "Assignment", "assignment.changed")
async def _assign_account(w: World) -> None:
    account = await w.account()
    await w.mark()
    await w.op(
        "AssignAccount",
        accountId=gid("Account", account.id),
        userId=w.admin.id,
        managerType="SALES",
        contactFrequencyDays=7,
    )


@case("unassign", "assignment.delete", "Assignment", "assignment.changed")
async def _unassign(w: World) -> None:
    row = await w.assignment()
    await w.mark()
    await w.op("Unassign", assignmentId=gid("Assignment", row.id))


@case("bulkReassign", "assignment.bulk_replace", "Assignment", "assignment.changed")
async def _bulk_reassign(w: World) -> None:
    row = await w.assignment()
    other = await w.api.caller(Role.REP)
    await w.mark()
    await w.op(
        "BulkReassign", mode="REPLACE", toUserId=other.id, assignmentIds=[gid("Assignment", row.id)]
    )


@case("updateAssignment", "assignment.update", "Assignment", "assignment.changed")
async def _update_assignment(w: World) -> None:
    row = await w.assignment()
    await w.mark()
    await w.op("UpdateAssignment", id=gid("Assignment", row.id), contactFrequencyDays=30)


@case(
    "setContactFrequencyDefault",
    "contact_frequency_default.set",
    "ContactFrequencyDefault",
    "contact_frequency_default.changed",
)
async def _set_frequency_default(w: World) -> None:
    await w.mark()
    await w.op(
        "SetContactFrequencyDefault",
        managerType="PARTS",
        classification="B",
        contactFrequencyDays=9,
    )


@case("setContactRule", "contact_rule.set", "ContactRule", "contact_rule.changed")
async def _set_contact_rule(w: World) -> None:
    await w.mark()
    await w.op("SetContactRule", managerType="SALES", kinds=["VISIT"])


# Activities


@case("logActivity", "activity.log", "Activity", "activity.logged", also={"assignment.changed"})
async def _log_activity(w: World) -> None:
    """The contact moves the account's assignment's next due: announced too."""
    account = await w.account()
    await w.assignment(account)
    await w.mark()
    await w.op(
        "LogActivity",
        kind="CALL_OUTBOUND",
        occurredAt=yesterday(),
        accountId=gid("Account", account.id),
    )


@case("logActivities", "activity.log", "Activity", "activity.logged")
async def _log_activities(w: World) -> None:
    account = await w.account()
    await w.mark()
    item = {"kind": "VISIT", "occurredAt": yesterday(), "accountId": gid("Account", account.id)}
    await w.op("LogActivities", activities=[item])


@case("voidActivity", "activity.void", "Activity", "activity.voided", also={"assignment.changed"})
async def _void_activity(w: World) -> None:
    """Its only contact voided, the account's assignment is due again: announced too."""
    account = await w.account()
    await w.assignment(account)
    item = ActivityInput(kind=ActivityKind.VISIT, occurred_at=yesterday_at(), account_id=account.id)
    activity, _ = await log_activity(w.session, actor=SYSTEM, item=item)
    await w.mark()
    await w.op("VoidActivity", id=gid("Activity", activity.id), reason="Logged twice")


# Pipelines and handoffs


STAGES = [{"key": "NEW", "name": "New"}, {"key": "DONE", "name": "Done", "kind": "WON"}]
TRANSITIONS = [{"trigger": "finish", "sources": ["NEW"], "dest": "DONE"}]


@case("definePipeline", "pipeline.define", "Pipeline", "pipeline.defined")
async def _define_pipeline(w: World) -> None:
    await w.mark()
    await w.op(
        "DefinePipeline", key="service", name="Service", stages=STAGES, transitions=TRANSITIONS
    )


@case("enterPipeline", "pipeline.enter", "Account", "stage.changed")
async def _enter_pipeline(w: World) -> None:
    await w.op(
        "DefinePipeline", key="service", name="Service", stages=STAGES, transitions=TRANSITIONS
    )
    account = await w.account()
    await w.mark()
    await w.op("EnterPipeline", accountId=gid("Account", account.id), pipeline="service")


@case("transitionAccount", "pipeline.move", "Account", "stage.changed")
async def _transition_account(w: World) -> None:
    account = await w.ready_account()
    await w.mark()
    await w.op("TransitionAccount", accountId=gid("Account", account.id), trigger="qualify")


@case("acceptHandoff", "handoff.accept", "StageEvent", "handoff.accepted")
async def _accept_handoff(w: World) -> None:
    event_id = await w.handed_off()
    await w.mark()
    await w.op("AcceptHandoff", eventId=gid("StageEvent", event_id), nextStep="Call the CFO")
