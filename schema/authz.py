"""The rule table: who may do what. Data only; schema/permissions.py applies it to the
resolvers and schema/engine/guards.py to graphql-core's fields.

POLICY names each action and the roles allowed to take it. Root fields name their action
with `query`/`mutation`; every other field is read through TYPE_RULES (the action that
reading an object of that type needs) and FIELD_RULES (overrides for one field).
MUTATION_RULES decide about a mutation's input before its service runs: the rows a REP may
name (ROW_SCOPE finds each row type's account), the fields only some roles may set, and who
may move or accept a pipeline entry. Services never check roles. ARGUMENT_RULES (in
schema/authz_arguments.py, for this file's size) name what each list's orders and filters read;
TYPE_RULES live in schema/authz_types.py for the same reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.lifecycle import contact_account_id
from app.models.auth import Role
from app.models.planning import PlanGoal, WhiteSpace
from app.planning.items import action_account_id
from app.planning.service import plan_account_id
from app.planning.statuses import item_account_id
from schema.authz_arguments import ARGUMENT_RULES as ARGUMENT_RULES
from schema.authz_types import TYPE_RULES as TYPE_RULES

ALL = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.REP})
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
ADMINS = frozenset({Role.ADMIN})
WRITERS = ALL  # account data: staff and integrations


@dataclass(frozen=True, slots=True)
class Rule:
    roles: frozenset[Role]
    # A REP acts only on accounts they hold: MUTATION_RULES names the rows (Holds).
    rep_scoped: bool = False


POLICY: dict[str, Rule] = {
    # reads
    "public": Rule(ALL),  # structure every caller sees: roots, errors, page info
    "viewer": Rule(ALL),
    "account.read": Rule(ALL),
    # every account whatever the record visibility (app.teams.visibility); REPs read theirs
    "account.read_all": Rule(frozenset({Role.ADMIN, Role.MANAGER, Role.INTEGRATION})),
    "contact.read": Rule(ALL),
    "user.read": Rule(STAFF),
    "audit.read": Rule(MANAGERS),
    "assignment.read": Rule(STAFF),
    "activity.read": Rule(STAFF),
    # What a mutation returns to the caller it let through: every field of its payload.
    "payload": Rule(ALL),
    "contact_rule.read": Rule(STAFF),
    "pipeline.read": Rule(STAFF),
    "handoff.read": Rule(STAFF),
    # Row rule (schema/handoff/queries.py): anyone's handoffs by receiver, not just one's own.
    "handoff.read_any_receiver": Rule(MANAGERS),
    "report.read": Rule(MANAGERS),
    "plan.read": Rule(STAFF),
    # tokens: a token's owner or an ADMIN (checked again in app.auth.tokens)
    "token.read": Rule(ALL),
    # Row rules a service applies (Actor.may): anyone's tokens, not just one's own; activities
    # on any account and as any user, not just on held accounts and as oneself.
    "token.manage_any": Rule(ADMINS),
    "activity.log_unscoped": Rule(frozenset({Role.ADMIN, Role.MANAGER, Role.INTEGRATION})),
    # writes
    "user.create": Rule(ADMINS),
    "user.update": Rule(ADMINS),
    # INTEGRATION never mints tokens; MANAGER and REP only for themselves.
    "token.create": Rule(STAFF),
    "token.revoke": Rule(ALL),
    "account.create": Rule(WRITERS),
    "account.update": Rule(WRITERS, rep_scoped=True),
    "account.archive": Rule(STAFF, rep_scoped=True),
    "contact.add": Rule(WRITERS, rep_scoped=True),
    "assignment.write": Rule(MANAGERS),
    "activity.log": Rule(ALL),
    "contact_rule.write": Rule(ADMINS),
    "pipeline.define": Rule(ADMINS),
    "pipeline.enter": Rule(STAFF, rep_scoped=True),
    "pipeline.move": Rule(STAFF),
    "handoff.accept": Rule(STAFF),
    "plan.write": Rule(STAFF, rep_scoped=True),
    "classification.apply": Rule(MANAGERS),
    # records
    "account.upsert": Rule(frozenset({Role.ADMIN, Role.MANAGER, Role.INTEGRATION})),
    "contact.update": Rule(WRITERS, rep_scoped=True),
    "contact.remove": Rule(STAFF, rep_scoped=True),
    "activity.void": Rule(frozenset({Role.ADMIN, Role.MANAGER, Role.INTEGRATION})),
    "account.merge": Rule(MANAGERS),
    # leads, territories, imports and exports
    "lead.read": Rule(STAFF),
    "lead.create": Rule(ALL),
    "lead.update": Rule(STAFF),
    "lead.convert": Rule(STAFF, rep_scoped=True),
    "rule.read": Rule(STAFF),
    "rule.define": Rule(MANAGERS),
    "rule.apply": Rule(MANAGERS),
    "import.read": Rule(MANAGERS),
    "import.run": Rule(MANAGERS),
    "export.run": Rule(MANAGERS),
    # /metrics: admins, and the scrape token (ACCOUNTFLOW_METRICS_TOKEN, app.web.backend)
    "metrics.read": Rule(ADMINS),
    # push (issue 11)
    "webhook.read": Rule(ADMINS),
    "webhook.write": Rule(ADMINS),
    # sync (issue 19): the event feed, every type; contacts by the other system's key;
    # voiding one's own events (an integration) or anyone's (managers)
    "event.read": Rule(frozenset({Role.ADMIN, Role.INTEGRATION})),
    "contact.upsert": Rule(frozenset({Role.ADMIN, Role.MANAGER, Role.INTEGRATION})),
    "activity.void_any": Rule(MANAGERS),
    # teams (issue 21): anyone's contact suggestions, not just one's own
    "suggestion.read_any": Rule(MANAGERS),
    # tasks (issue 21): integrations (a calendar, a phone system) create them for someone;
    # REPs for themselves on what they read (app.tasks.records); the owner or a manager
    # completes or cancels one; a taskDue subscriber hears their own unless a manager.
    "task.read": Rule(STAFF),
    "task.create": Rule(ALL),
    "task.update": Rule(STAFF),
    "task.assign_any": Rule(frozenset({Role.ADMIN, Role.MANAGER, Role.INTEGRATION})),
    "task.manage_any": Rule(MANAGERS),
    "task.read_any": Rule(MANAGERS),
    # User.figures: one's own, or anyone's for managers
    "figures.read_any": Rule(MANAGERS),
    # teams (issue 21): managers read every team, a REP the teams they are in
    "team.read": Rule(STAFF),
    "team.read_all": Rule(MANAGERS),
    "team.define": Rule(ADMINS),
    "visibility.set": Rule(ADMINS),
}

# Overrides for one field ("Type.field"), checked instead of the type's rule.
FIELD_RULES: dict[str, str] = {
    "Query.viewer": "viewer",  # every caller may see who it is
    "Query.node": "public",  # checked per runtime type in schema/node.py
    # An activity or a lead reaches an integration as its own mutation's result, a payload,
    # where the type's rule is not checked: the user it names is a person, whom the
    # integration may not read even when it named them. Their resolvers check this rule
    # (permissions.require): a guard checks only rules narrower than the type's.
    "Activity.user": "user.read",
    "Lead.owner": "user.read",
    "Task.owner": "user.read",
    # a lead's activities: those who read activities (the lead reaches an integration as
    # logActivity's payload)
    "Lead.activities": "activity.read",
    # records: revenue is no account scalar an integration may read
    "Account.revenueLast12Months": "plan.read",
    # teams (issue 21): the territory is a rule, which integrations do not read
    "Account.territory": "rule.read",
}

FORBIDDEN_MESSAGE = "You are not allowed to do this."

HOLDS_MESSAGE = "You may only change accounts assigned to you."


async def _same(session: AsyncSession, pk: int, field: str) -> int:
    return pk


async def _contact_account(session: AsyncSession, pk: int, field: str) -> int:
    return await contact_account_id(session, pk)


async def _plan_account(session: AsyncSession, pk: int, field: str) -> int:
    return await plan_account_id(session, pk, field=field)


async def _action_account(session: AsyncSession, pk: int, field: str) -> int:
    return await action_account_id(session, pk)


async def _goal_account(session: AsyncSession, pk: int, field: str) -> int:
    return await item_account_id(session, PlanGoal, pk)


async def _white_space_account(session: AsyncSession, pk: int, field: str) -> int:
    return await item_account_id(session, WhiteSpace, pk)


# The row scope per type: the account a row of that type belongs to (NOT_FOUND, naming the
# input field, when there is none), which a REP must hold to change the row.
ROW_SCOPE: dict[str, Callable[[AsyncSession, int, str], Awaitable[int]]] = {
    "Account": _same,
    "Contact": _contact_account,
    "AccountPlan": _plan_account,
    "ActionItem": _action_account,
    "PlanGoal": _goal_account,
    "WhiteSpace": _white_space_account,
}


@dataclass(frozen=True, slots=True)
class Holds:
    """A REP names in `field` (a global id of `type_name`) only a row of an account they hold."""

    field: str  # the input's attribute
    type_name: str
    message: str = HOLDS_MESSAGE
    # Check only a new value: the current one of `changes` (the input attribute naming the
    # Account changed, None when creating) is no change. Its error names the field.
    changed_only: bool = False
    changes: str | None = None


@dataclass(frozen=True, slots=True)
class SetBy:
    """Only `roles` change the Account column `field`; sending its current value is no change."""

    field: str
    roles: frozenset[Role]
    message: str
    changes: str | None = None  # as in Holds


@dataclass(frozen=True, slots=True)
class OwnsEntry:
    """A REP moves only the pipeline entries they own (the entry of `account` in `pipeline`)."""

    message: str
    account: str = "account_id"
    pipeline: str = "pipeline"


@dataclass(frozen=True, slots=True)
class Accepts:
    """A handoff (the stage event `event`) is accepted by its new owner or by `roles`."""

    roles: frozenset[Role]
    message: str
    event: str = "event_id"


InputRule = Holds | SetBy | OwnsEntry | Accepts

CLASSIFICATION = "Only managers set the classification."
PARENT = "You may only move an account under one you hold."

# Decisions about a mutation's input (by the mutation's field name), taken in this order
# after POLICY let the caller in and before the mutation's service runs.
MUTATION_RULES: dict[str, tuple[InputRule, ...]] = {
    "createAccount": (
        SetBy("classification", MANAGERS, CLASSIFICATION),
        Holds("parent_id", "Account", PARENT, changed_only=True),
    ),
    "updateAccount": (
        Holds("id", "Account"),
        SetBy("classification", MANAGERS, CLASSIFICATION, changes="id"),
        Holds("parent_id", "Account", PARENT, changed_only=True, changes="id"),
    ),
    "archiveAccount": (Holds("id", "Account"),),
    "restoreAccount": (Holds("id", "Account"),),
    "setAccountTags": (Holds("account_id", "Account"),),
    "addContact": (Holds("account_id", "Account"),),
    "updateContact": (Holds("id", "Contact"), Holds("account_id", "Account")),
    "removeContact": (Holds("id", "Contact"),),
    "enterPipeline": (Holds("account_id", "Account"),),
    "transitionAccount": (OwnsEntry("You may only move pipeline entries you own."),),
    "acceptHandoff": (
        Accepts(MANAGERS, "Only the new owner or a manager may accept this handoff."),
    ),
    "convertLead": (Holds("existing_account_id", "Account"),),
    "createPlan": (Holds("account_id", "Account"),),
    "updatePlan": (Holds("id", "AccountPlan"),),
    "setPlanStatus": (Holds("id", "AccountPlan"),),
    "recordReview": (Holds("plan_id", "AccountPlan"),),
    "addPlanGoal": (Holds("plan_id", "AccountPlan"),),
    "addActionItem": (Holds("plan_id", "AccountPlan"),),
    "addWhiteSpace": (Holds("plan_id", "AccountPlan"),),
    "completeActionItem": (Holds("id", "ActionItem"),),
    "setGoalStatus": (Holds("id", "PlanGoal"),),
    "cancelActionItem": (Holds("id", "ActionItem"),),
    "setWhiteSpaceStatus": (Holds("id", "WhiteSpace"),),
    "updatePlanGoal": (Holds("id", "PlanGoal"),),
    "removePlanGoal": (Holds("id", "PlanGoal"),),
    "updateActionItem": (Holds("id", "ActionItem"),),
    "removeActionItem": (Holds("id", "ActionItem"),),
    "updateWhiteSpace": (Holds("id", "WhiteSpace"),),
    "removeWhiteSpace": (Holds("id", "WhiteSpace"),),
}

# The same for each item of a batch mutation: a refused item is rejected by its index, and
# any value sent is a change.
ITEM_RULES: dict[str, tuple[SetBy, ...]] = {
    "upsertAccounts": (SetBy("classification", MANAGERS, CLASSIFICATION),),
}


def grants(role: Role) -> frozenset[str]:
    """The actions a role may take: what the edge puts on its Actor."""
    return frozenset(action for action, rule in POLICY.items() if role in rule.roles)
