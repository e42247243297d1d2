"""The compiled read path: a query over the read model answered by one SQL statement.

PostgreSQL builds the response JSON itself; strawberry stays the schema of record and
answers everything the compiler does not cover (a query is compiled whole or not at all).
`COVERED` names, per GraphQL type, the fields the compiler turns into SQL; responses say
which path answered them in the `x-accountflow-executor` header (`compiled` or `graphql`).
"""

from __future__ import annotations

COVERED: dict[str, frozenset[str]] = {
    "Query": frozenset({"viewer", "node", "accounts"}),
    "AccountConnection": frozenset({"pageInfo", "edges", "totalCount"}),
    "AccountEdge": frozenset({"cursor", "node"}),
    "ActivityConnection": frozenset({"pageInfo", "edges", "totalCount"}),
    "ActivityEdge": frozenset({"cursor", "node"}),
    "PageInfo": frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}),
    "Account": frozenset(
        {
            "id",
            "name",
            "classification",
            "industry",
            "source",
            "externalRef",
            "attributes",
            "version",
            "phone",
            "email",
            "website",
            "address",
            "archivedAt",
            "tags",
            "createdAt",
            "updatedAt",
            "parent",
            "mergedInto",
            "contacts",
            "branches",
            "assignments",
            "pipelineEntry",
            "activities",
            "stageHistory",
        }
    ),
    "Address": frozenset({"street", "city", "region", "postalCode", "countryCode"}),
    "Contact": frozenset({"id", "name", "title", "email", "phone", "buyingRole", "account"}),
    "User": frozenset({"id", "email", "name", "role", "maxAccounts", "isActive"}),
    "Assignment": frozenset(
        {
            "id",
            "managerType",
            "contactFrequencyDays",
            "startedAt",
            "lastContactAt",
            "nextContactDue",
            "status",
            "user",
            "account",
        }
    ),
    "PipelineEntry": frozenset({"stage", "enteredAt", "secondsInStage", "account", "owner"}),
    "Activity": frozenset(
        {
            "id",
            "kind",
            "occurredAt",
            "summary",
            "amount",
            "source",
            "externalId",
            "voidedAt",
            "voidReason",
            "account",
            "user",
            "contact",
        }
    ),
    "StageEvent": frozenset(
        {
            "id",
            "fromStage",
            "toStage",
            "trigger",
            "occurredAt",
            "handoff",
            "reason",
            "benefit",
            "note",
            "missingRecommended",
            "secondsInPreviousStage",
            "acceptedAt",
            "nextStep",
            "nextStepDue",
            "account",
            "actor",
            "fromOwner",
            "toOwner",
            "acceptedBy",
        }
    ),
}
