"""The one place roles are enforced.

POLICY names each action and the roles allowed to take it. Root fields name their action
with `query`/`mutation`; every other field is read through TYPE_RULES (the action that
reading an object of that type needs) and FIELD_RULES (overrides for one field).
`install_guards` turns the tables into checks on the schema's fields once, when the schema
is built: a field whose rule does not admit every role checks the viewer's role before its
resolver runs, and a forbidden field reads as null with a FORBIDDEN error.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    default_field_resolver,
    get_named_type,
)

from app.auth.scope import user_holds_account
from app.errors import AppError, ForbiddenError
from app.models.auth import Role
from schema.context import Context
from schema.unit_of_work import info_context, unit_of_work

P = ParamSpec("P")
R = TypeVar("R")

ALL = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.REP})
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
ADMINS = frozenset({Role.ADMIN})
WRITERS = ALL  # account data: staff and integrations


@dataclass(frozen=True, slots=True)
class Rule:
    roles: frozenset[Role]
    # A REP may act only on accounts they are assigned to (checked by require_account).
    rep_scoped: bool = False


POLICY: dict[str, Rule] = {
    # reads
    "public": Rule(ALL),  # structure every caller sees: roots, errors, page info
    "viewer": Rule(ALL),
    "account.read": Rule(ALL),
    "contact.read": Rule(ALL),
    "user.read": Rule(STAFF),
    "audit.read": Rule(MANAGERS),
    "assignment.read": Rule(STAFF),
    "activity.read": Rule(STAFF),
    # What a mutation returns to the caller it let through: every field of its payload.
    "payload": Rule(ALL),
    "activity.author": Rule(ALL),
    "contact_rule.read": Rule(STAFF),
    "pipeline.read": Rule(STAFF),
    "handoff.read": Rule(STAFF),
    "report.read": Rule(MANAGERS),
    "plan.read": Rule(STAFF),
    # tokens: a token's owner or an ADMIN (checked again in app.auth.tokens)
    "token.read": Rule(ALL),
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
    "activity.void": Rule(MANAGERS),
    "account.merge": Rule(MANAGERS),
    # leads, territories, imports and exports
    "lead.read": Rule(STAFF),
    "lead.owner": Rule(ALL),
    "lead.create": Rule(ALL),
    "lead.update": Rule(STAFF),
    "lead.convert": Rule(STAFF, rep_scoped=True),
    "rule.read": Rule(STAFF),
    "rule.define": Rule(MANAGERS),
    "rule.apply": Rule(MANAGERS),
    "import.read": Rule(MANAGERS),
    "import.run": Rule(MANAGERS),
    "export.run": Rule(MANAGERS),
    # /metrics: any valid token, as before the edge was one (tighten it here, not in a handler)
    "metrics.read": Rule(ALL),
    # push (issue 11)
    "webhook.read": Rule(ADMINS),
    "webhook.write": Rule(ADMINS),
}

# The action reading an object of each type needs. Connections and edges take their node's
# rule; errors are "public"; a mutation's payload is "payload": the objects it holds are
# readable by whoever the mutation let through, their own fields checked as usual.
TYPE_RULES: dict[str, str] = {
    "Query": "public",
    "Mutation": "public",
    "PageInfo": "public",
    "BasicError": "public",
    "GateBlockedError": "public",
    "RejectedItem": "public",
    # accounts
    "Account": "account.read",
    "AccountConnection": "account.read",
    "AccountEdge": "account.read",
    "Address": "account.read",
    "Contact": "contact.read",
    "AccountPayload": "payload",
    "ContactPayload": "payload",
    # users and audit
    "User": "user.read",
    "UserConnection": "user.read",
    "UserEdge": "user.read",
    "UserPayload": "payload",
    "AuditEntry": "audit.read",
    "AuditEntryConnection": "audit.read",
    "AuditEntryEdge": "audit.read",
    # cadence
    "Assignment": "assignment.read",
    "AssignmentConnection": "assignment.read",
    "AssignmentEdge": "assignment.read",
    "ContactBalance": "assignment.read",
    "AssignPayload": "payload",
    "UnassignPayload": "payload",
    "BulkReassignPayload": "payload",
    "Activity": "activity.read",
    "ActivityConnection": "activity.read",
    "ActivityEdge": "activity.read",
    "LogActivityPayload": "payload",
    "LogActivitiesPayload": "payload",
    "ContactRule": "contact_rule.read",
    "ContactRulePayload": "payload",
    # handoff
    "Pipeline": "pipeline.read",
    "Stage": "pipeline.read",
    "Transition": "pipeline.read",
    "PipelinePayload": "payload",
    "PipelineEntry": "handoff.read",
    "StageEvent": "handoff.read",
    "StageEventConnection": "handoff.read",
    "StageEventEdge": "handoff.read",
    "EntryPayload": "payload",
    "TransitionPayload": "payload",
    "AcceptPayload": "payload",
    "StageThroughputReport": "report.read",
    "StageStats": "report.read",
    "HandoffReport": "report.read",
    "RequirementCount": "report.read",
    "RequirementBlockCount": "report.read",
    # planning
    "AccountPlan": "plan.read",
    "AccountPlanConnection": "plan.read",
    "AccountPlanEdge": "plan.read",
    "PlanGoal": "plan.read",
    "ActionItem": "plan.read",
    "WhiteSpace": "plan.read",
    "ContactMap": "plan.read",
    "AccountRollup": "plan.read",
    "PlanPayload": "payload",
    "GoalPayload": "payload",
    "ActionPayload": "payload",
    "WhiteSpacePayload": "payload",
    "ApplyClassificationPayload": "payload",
    "ChurnEstimate": "report.read",
    "ChurnYear": "report.read",
    "ForecastRow": "report.read",
    "ClassificationSuggestion": "report.read",
    "ClassificationSuggestionConnection": "report.read",
    "ClassificationSuggestionEdge": "report.read",
    # reports (issue 12): report rows are for managers
    "CoverageRow": "report.read",
    "OwnerStageStats": "report.read",
    "StageTrendRow": "report.read",
    "ActivityMixRow": "report.read",
    # tokens and users (issues 8, 9): a token reads as missing to all but its owner and
    # ADMIN (app.auth.tokens); its user is a User, read by STAFF only.
    "ApiToken": "token.read",
    "CreateApiTokenPayload": "payload",
    "ApiTokenPayload": "payload",
    # records (issue 9): lists, board, frequencies, merge, upsert
    "ContactConnection": "contact.read",
    "ContactEdge": "contact.read",
    "RevenueYear": "plan.read",
    "BoardColumn": "pipeline.read",
    "PipelineEntryConnection": "handoff.read",
    "PipelineEntryEdge": "handoff.read",
    "ContactFrequencyDefault": "assignment.read",
    "ActionItemConnection": "plan.read",
    "ActionItemEdge": "plan.read",
    "UpsertAccountsPayload": "payload",
    "MergeAccountsPayload": "payload",
    "MergeCounts": "payload",
    "RemovePayload": "payload",
    "ContactFrequencyDefaultPayload": "payload",
    # leads, territories, imports (issue 10)
    "Lead": "lead.read",
    "LeadConnection": "lead.read",
    "LeadEdge": "lead.read",
    "LeadPayload": "payload",
    "CreateLeadPayload": "payload",
    "ConvertLeadPayload": "payload",
    "LeadSourceRow": "report.read",
    "AssignmentRule": "rule.read",
    "RuleCriteria": "rule.read",
    "RuleMember": "rule.read",
    "AssignmentRulePayload": "payload",
    "ApplyAssignmentRulesPayload": "payload",
    "UserCount": "payload",
    "ImportJob": "import.read",
    "ImportRowError": "import.read",
    "ImportRowErrorConnection": "import.read",
    "ImportRowErrorEdge": "import.read",
    "ImportJobPayload": "payload",
    # push (issue 11)
    "Subscription": "public",
    "Webhook": "webhook.read",
    "WebhookDelivery": "webhook.read",
    "WebhookDeliveryConnection": "webhook.read",
    "WebhookDeliveryEdge": "webhook.read",
    "CreateWebhookPayload": "payload",
    "WebhookPayload": "payload",
    "DeleteWebhookPayload": "payload",
    "DeliveryPayload": "payload",
}

# Overrides for one field ("Type.field"), checked instead of the type's rule.
FIELD_RULES: dict[str, str] = {
    "Query.viewer": "viewer",  # every caller may see who it is
    "Query.node": "public",  # checked per runtime type in schema/node.py
    # An activity reaches an integration only as its own mutation's result; the author is
    # the user it named (by id or e-mail), so it may read that user back.
    "Activity.user": "activity.author",
    # records: revenue is no account scalar an integration may read
    "Account.revenueLast12Months": "plan.read",
    # A lead reaches an integration only as its own createLead's result; its owner is the
    # user the integration named (or none), so it may read that user back.
    "Lead.owner": "lead.owner",
}

FORBIDDEN_MESSAGE = "You are not allowed to do this."
ROOTS = frozenset({"Query", "Mutation", "Subscription"})
GUARD = "accountflow.guard"  # a guarded field's extensions: (roles, unguarded resolver)


def allowed(context: Context, action: str) -> bool:
    return context.role in POLICY[action].roles


def type_allowed(context: Context, type_name: str) -> bool:
    return allowed(context, TYPE_RULES[type_name])


def forbidden() -> GraphQLError:
    return GraphQLError(FORBIDDEN_MESSAGE, extensions={"code": "FORBIDDEN"})


def field_action(parent: GraphQLObjectType, name: str, field: GraphQLField) -> str:
    """The action reading `parent.name` needs; KeyError when no table gives one."""
    override = FIELD_RULES.get(f"{parent.name}.{name}")
    if override is not None:
        return override
    if TYPE_RULES[parent.name] == "payload":
        return "payload"
    named = get_named_type(field.type)
    if isinstance(named, GraphQLInterfaceType):
        return "public"  # the runtime type is checked where it is resolved (node)
    if isinstance(named, GraphQLObjectType):
        return TYPE_RULES[named.name]
    return TYPE_RULES[parent.name]


def install_guards(schema: GraphQLSchema) -> None:
    """Put a role check in front of every field whose rule does not admit every role.

    A scalar field's rule is its type's, and every way into an object (a field returning
    it, `node`) is checked already: only fields with an override or an object type get a
    check of their own.
    """
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            action = field_action(type_, name, field)
            entry = f"{type_.name}.{name}" in FIELD_RULES or isinstance(
                get_named_type(field.type), GraphQLObjectType
            )
            roles = POLICY[action].roles
            # Whoever reached the parent passed its rule: only a narrower one needs a check.
            narrower = not POLICY[TYPE_RULES[type_.name]].roles <= roles
            if entry and narrower and GUARD not in field.extensions:
                _guard(field, roles)
                # A field some roles may not read is nullable below the root, so its null
                # stays in place instead of wiping its parents (a whole mutation payload).
                if type_.name not in ROOTS and isinstance(field.type, GraphQLNonNull):
                    field.type = field.type.of_type


def _guard(field: GraphQLField, roles: frozenset[Role]) -> None:
    resolve = field.resolve or default_field_resolver

    def guarded(source: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
        if info.context.role not in roles:
            raise forbidden()
        return resolve(source, info, **args)

    field.extensions = {**field.extensions, GUARD: (roles, resolve)}
    field.resolve = guarded


async def require_account(context: Context, account_id: int) -> None:
    """Inside a guarded mutation: a REP may only touch accounts they hold."""
    action = context.action
    assert action is not None, "require_account is only valid inside a guarded mutation"
    if context.role is not Role.REP or not POLICY[action].rep_scoped:
        return
    if not await user_holds_account(
        context.session, user_id=context.viewer_id, account_id=account_id
    ):
        raise ForbiddenError("You may only change accounts assigned to you.")


def _check(action: str) -> None:
    if action not in POLICY:
        raise KeyError(f"action {action!r} is not in POLICY")


def query(action: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Guard a query field: a role outside the rule gets a FORBIDDEN GraphQL error."""
    _check(action)

    def decorate(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(resolver)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if not allowed(info_context(kwargs), action):
                raise forbidden()
            try:
                return await resolver(*args, **kwargs)
            except AppError as error:
                raise GraphQLError(
                    error.message, extensions={"code": error.code, "field": error.field}
                ) from error

        guarded.__accountflow_action__ = action  # type: ignore[attr-defined]
        return guarded

    return decorate


def mutation(action: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Guard a mutation: a role outside the rule gets FORBIDDEN in the payload, nothing runs.

    The check runs inside the mutation's unit of work (schema/unit_of_work.py), which turns
    it, like every expected failure, into the payload's errors.
    """
    _check(action)

    def decorate(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(resolver)
        async def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            context = info_context(kwargs)
            if not allowed(context, action):
                raise ForbiddenError(FORBIDDEN_MESSAGE)
            context.action = action
            try:
                return await resolver(*args, **kwargs)
            finally:
                context.action = None

        guarded = unit_of_work(checked)
        guarded.__accountflow_action__ = action  # type: ignore[attr-defined]
        return guarded

    return decorate
