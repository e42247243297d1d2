"""The rule table's part for lists' orders and filters (re-exported by schema/authz.py).

Sorting or filtering by a value is reading it (DESIGN): each order and filter of a list
names the fields it reads ("Type.field", each read by its own rule: FIELD_RULES, else its
type's, as schema/engine/guards.py reads them), and a role may use it only when it may read
every one (schema/permissions.py applies it on both read paths). Keys: "filter.<input
field>", "orderBy.<order>"; () reads nothing of its own. A filter or order with no entry
fails tests/schema/test_argument_rules.py.
"""

from __future__ import annotations

_ASSIGNED = "Account.assignments"
ARGUMENT_RULES: dict[str, dict[str, tuple[str, ...]]] = {
    "accounts": {
        "filter.search": (
            "Account.name",
            "Account.externalRef",
            "Account.website",
            "Account.contacts",
            "Contact.name",
            "Contact.email",
        ),
        "filter.classification": ("Account.classification",),
        "filter.industry": ("Account.industry",),
        "filter.countryCode": ("Account.address", "Address.countryCode"),
        "filter.parentId": ("Account.parent",),
        "filter.includeArchived": ("Account.archivedAt",),
        "filter.source": ("Account.source",),
        "filter.tags": ("Account.tags",),
        "filter.externalRef": ("Account.externalRef",),
        "filter.employeeCountAbove": ("Account.employeeCount",),
        "filter.region": ("Account.address", "Address.region"),
        "filter.city": ("Account.address", "Address.city"),
        "filter.postalCodePrefix": ("Account.address", "Address.postalCode"),
        "filter.assignedUserId": (_ASSIGNED, "Assignment.user"),
        "filter.managerType": (_ASSIGNED, "Assignment.managerType"),
        "filter.cadenceStatus": (_ASSIGNED, "Assignment.status", "Assignment.nextContactDue"),
        "filter.stage": ("Account.pipelineEntry", "PipelineEntry.stage"),
        "filter.pipeline": (),  # which pipeline `stage` means
        "filter.createdAfter": ("Account.createdAt",),
        "filter.updatedAfter": ("Account.updatedAt",),
        "orderBy.NAME": ("Account.name",),
        "orderBy.CREATED_AT": ("Account.createdAt",),
        "orderBy.UPDATED_AT": ("Account.updatedAt",),
        "orderBy.NEXT_CONTACT_DUE": (_ASSIGNED, "Assignment.nextContactDue"),
        "orderBy.REVENUE_LAST_12_MONTHS": ("Account.revenueLast12Months",),
    },
    "contacts": {
        "filter.search": ("Contact.name", "Contact.email"),
        "filter.accountId": ("Contact.account",),
        "filter.buyingRole": ("Contact.buyingRole",),
        "orderBy.NAME": ("Contact.name",),
        "orderBy.CREATED_AT": ("Contact.createdAt",),
    },
    "assignments": {
        "filter.userId": ("Assignment.user",),
        "filter.managerType": ("Assignment.managerType",),
        "filter.accountId": ("Assignment.account",),
        "filter.status": ("Assignment.status",),
        "filter.balance": ("Assignment.balance",),
        "filter.inactiveUsers": ("Assignment.user", "User.isActive"),
        "orderBy.NEXT_CONTACT_DUE": ("Assignment.nextContactDue",),
        "orderBy.STARTED_AT": ("Assignment.startedAt",),
    },
    "activities": {
        "filter.accountId": ("Activity.account",),
        "filter.userId": ("Activity.user",),
        "filter.kinds": ("Activity.kind",),
        "filter.from": ("Activity.occurredAt",),
        "filter.to": ("Activity.occurredAt",),
        "filter.includeVoided": ("Activity.voidedAt",),
        "orderBy.OCCURRED_AT": ("Activity.occurredAt",),
    },
    "actionItems": {
        "filter.ownerId": ("ActionItem.owner",),
        "filter.status": ("ActionItem.status",),
        "filter.dueBefore": ("ActionItem.due",),
    },
    "plans": {
        "filter.status": ("AccountPlan.status",),
        "filter.accountId": ("AccountPlan.account",),
        "filter.ownerId": ("AccountPlan.owner",),
        "filter.periodIncludes": ("AccountPlan.periodStart", "AccountPlan.periodEnd"),
    },
    "leads": {
        "filter.status": ("Lead.status",),
        "filter.source": ("Lead.source",),
        "filter.ownerId": ("Lead.owner",),
        "filter.search": ("Lead.company", "Lead.contactName", "Lead.email"),
        "orderBy.CREATED_AT": ("Lead.createdAt",),
        "orderBy.COMPANY": ("Lead.company",),
        "orderBy.STATUS": ("Lead.status",),
    },
    "tasks": {
        "filter.ownerId": ("Task.owner",),
        "filter.status": ("Task.status",),
        "filter.dueBefore": ("Task.dueAt",),
        "filter.accountId": ("Task.account",),
        "filter.leadId": ("Task.lead",),
    },
    "coverageReport": {
        "filter.managerType": ("CoverageRow.managerType",),
        "filter.classification": ("CoverageRow.classification",),
        "filter.userId": ("CoverageRow.user",),
        "filter.teamId": ("CoverageRow.user",),  # a team is its members
    },
}
