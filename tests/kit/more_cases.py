"""The writers test's cases for plans, leads, territories and the service's administration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.auth import tokens
from app.events import EventType
from app.kit.actor import SYSTEM
from app.leads.territories import Criteria, MemberInput, RuleDefinition, define_rule
from app.models.assignments import ManagerType
from app.models.auth import Role
from app.models.leads import LeadStatus
from app.models.planning import WhiteSpaceKind
from app.models.webhooks import WebhookDelivery
from app.planning import items
from app.webhooks import service as webhooks
from tests.kit.mutation_cases import case
from tests.kit.writers import World, gid
from tests.planning.factories import create_activity

# Plans


@case("createPlan", "plan.create", "AccountPlan", "plan.created")
async def _create_plan(w: World) -> None:
    account = await w.account()
    await w.mark()
    await w.op(
        "CreatePlan",
        accountId=gid("Account", account.id),
        periodStart="2026-01-01",
        periodEnd="2026-12-31",
        growthTargetPct="5",
    )


@case("updatePlan", "plan.update", "AccountPlan", "plan.updated")
async def _update_plan(w: World) -> None:
    plan = await w.plan()
    await w.mark()
    await w.op("UpdatePlan", id=gid("AccountPlan", plan.id), satisfaction=8, expectedVersion=1)


@case("setPlanStatus", "plan.status", "AccountPlan", "plan.status_changed")
async def _set_plan_status(w: World) -> None:
    plan = await w.plan()
    await w.mark()
    await w.op("SetPlanStatus", id=gid("AccountPlan", plan.id), status="ACTIVE")


@case("recordReview", "plan.review", "AccountPlan", "plan.updated")
async def _record_review(w: World) -> None:
    plan = await w.plan()
    await w.mark()
    await w.op("RecordReview", planId=gid("AccountPlan", plan.id), notes="On track")


@case("addPlanGoal", "plan.goal.add", "PlanGoal", "goal.changed")
async def _add_goal(w: World) -> None:
    plan = await w.plan()
    await w.mark()
    await w.op("AddPlanGoal", planId=gid("AccountPlan", plan.id), title="Grow parts")


@case("setGoalStatus", "plan.goal.status", "PlanGoal", "goal.changed")
async def _set_goal_status(w: World) -> None:
    plan = await w.plan()
    goal = await items.add_goal(w.session, actor=SYSTEM, plan_id=plan.id, title="Grow")
    await w.mark()
    await w.op("SetGoalStatus", id=gid("PlanGoal", goal.id), status="ACHIEVED", actual="10.00")


@case("addActionItem", "plan.action.add", "PlanAction", "action_item.changed")
async def _add_action(w: World) -> None:
    plan = await w.plan()
    await w.mark()
    await w.op("AddActionItem", planId=gid("AccountPlan", plan.id), title="Visit")


@case("completeActionItem", "plan.action.complete", "PlanAction", "action_item.changed")
async def _complete_action(w: World) -> None:
    plan = await w.plan()
    action = await items.add_action(w.session, actor=SYSTEM, plan_id=plan.id, title="Visit")
    await w.mark()
    await w.op("CompleteActionItem", id=gid("ActionItem", action.id))


@case("cancelActionItem", "plan.action.cancel", "PlanAction", "action_item.changed")
async def _cancel_action(w: World) -> None:
    plan = await w.plan()
    action = await items.add_action(w.session, actor=SYSTEM, plan_id=plan.id, title="Visit")
    await w.mark()
    await w.op("CancelActionItem", id=gid("ActionItem", action.id), reason="Moved")


@case("addWhiteSpace", "plan.white_space.add", "WhiteSpace", "white_space.changed")
async def _add_white_space(w: World) -> None:
    plan = await w.plan()
    await w.mark()
    await w.op(
        "AddWhiteSpace", planId=gid("AccountPlan", plan.id), kind="PRODUCT", description="Filters"
    )


@case("setWhiteSpaceStatus", "plan.white_space.status", "WhiteSpace", "white_space.changed")
async def _set_white_space_status(w: World) -> None:
    plan = await w.plan()
    item = await items.add_white_space(
        w.session, actor=SYSTEM, plan_id=plan.id, kind=WhiteSpaceKind.PRODUCT, description="Filters"
    )
    await w.mark()
    await w.op("SetWhiteSpaceStatus", id=gid("WhiteSpace", item.id), status="WON")


@case("applyClassification", "account.classify", "Account", "account.updated")
async def _apply_classification(w: World) -> None:
    ids = []
    for name, amount in (("Big", "5000"), ("Small", "1000")):
        account = await w.account(name)
        await create_activity(w.session, account, amount, datetime.now(UTC) - timedelta(days=10))
        ids.append(gid("Account", account.id))
    await w.mark()
    await w.op("ApplyClassification", accountIds=ids, dryRun=False)


# Leads and territories


@case("createLead", "lead.create", "Lead", "lead.created")
async def _create_lead(w: World) -> None:
    await w.mark()
    await w.op("CreateLead", company="Prospect Co")


@case("updateLead", "lead.update", "Lead", "lead.updated")
async def _update_lead(w: World) -> None:
    lead = await w.lead()
    await w.mark()
    await w.op("UpdateLead", id=gid("Lead", lead.id), industry="Forestry", expectedVersion=1)


@case("setLeadStatus", "lead.status", "Lead", "lead.status_changed")
async def _set_lead_status(w: World) -> None:
    lead = await w.lead()
    await w.mark()
    await w.op("SetLeadStatus", id=gid("Lead", lead.id), status="WORKING")


@case(
    "convertLead",
    "lead.convert",
    "Lead",
    "lead.converted",
    also={"account.created", "contact.created"},
)
async def _convert_lead(w: World) -> None:
    lead = await w.lead(LeadStatus.QUALIFIED)
    await w.mark()
    await w.op("ConvertLead", leadId=gid("Lead", lead.id))


async def _rule(w: World) -> None:
    definition = RuleDefinition(
        name="Everyone",
        position=0,
        manager_type=ManagerType.SALES,
        criteria=Criteria(),
        members=[MemberInput(w.admin.user_id)],
    )
    await define_rule(w.session, actor=SYSTEM, definition=definition)
    await w.session.commit()


@case("defineAssignmentRule", "rule.create", "AssignmentRule", "assignment_rule.defined")
async def _define_rule(w: World) -> None:
    await w.mark()
    member = {"userId": w.admin.id}
    await w.op(
        "DefineAssignmentRule",
        name="All",
        position=0,
        managerType="SALES",
        criteria={},
        members=[member],
    )


@case("applyAssignmentRules", "assignment.create", "Assignment", "assignment.changed")
async def _apply_rules(w: World) -> None:
    await w.account("Unheld")
    await _rule(w)
    await w.mark()
    await w.op("ApplyAssignmentRules", dryRun=False)


# The service's own administration: audited, not announced (see app/kit/changes.py).


@case("createUser", "user.create", "User", None)
async def _create_user(w: World) -> None:
    await w.mark()
    await w.op("CreateUser", email="new@example.org", name="New", role="REP")


@case("updateUser", "user.update", "User", None)
async def _update_user(w: World) -> None:
    rep = await w.api.caller(Role.REP)
    await w.mark()
    await w.op("UpdateUser", id=rep.id, name="Renamed")


@case("createApiToken", "token.create", "ApiToken", None)
async def _create_token(w: World) -> None:
    await w.mark()
    await w.op("CreateApiToken", userId=w.admin.id, name="ci")


@case("revokeApiToken", "token.revoke", "ApiToken", None)
async def _revoke_token(w: World) -> None:
    _, token = await tokens.issue_token(w.session, actor=SYSTEM, user_id=w.admin.user_id)
    await w.mark()
    await w.op("RevokeApiToken", id=gid("ApiToken", token.id))


HOOK = "http://127.0.0.1:9/hook"


async def _webhook(w: World) -> int:
    hook, _ = await webhooks.create_webhook(
        w.session, actor=SYSTEM, url=HOOK, events=[EventType.ACCOUNT_CREATED], allow_private=True
    )
    await w.session.commit()
    return hook.id


@case("createWebhook", "webhook.create", "Webhook", None)
async def _create_webhook(w: World) -> None:
    await w.mark()
    await w.op("CreateWebhook", url=HOOK, events=["ACCOUNT_CREATED"])


@case("updateWebhook", "webhook.update", "Webhook", None)
async def _update_webhook(w: World) -> None:
    hook_id = await _webhook(w)
    await w.mark()
    await w.op("UpdateWebhook", id=gid("Webhook", hook_id), isActive=False)


@case("deleteWebhook", "webhook.delete", "Webhook", None)
async def _delete_webhook(w: World) -> None:
    hook_id = await _webhook(w)
    await w.mark()
    await w.op("DeleteWebhook", id=gid("Webhook", hook_id))


@case("redeliverWebhook", "webhook.redeliver", "WebhookDelivery", None)
async def _redeliver(w: World) -> None:
    await _webhook(w)
    await w.account("Delivered")
    delivery = await w.session.scalar(select(WebhookDelivery.id))
    assert delivery is not None
    await w.mark()
    await w.op("RedeliverWebhook", deliveryId=gid("WebhookDelivery", delivery))
