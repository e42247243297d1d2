"""Every operation of contract/records.graphql but the token and user ones (helper `tokens`)
validates against the published SDL."""

from __future__ import annotations

from pathlib import Path

from graphql import OperationDefinitionNode, build_schema, parse, validate
from graphql.language import DocumentNode

from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.support import CONTRACT, Api

ROOT = Path(__file__).resolve().parents[2]
ELSEWHERE = {"UpdateUser", "CreateApiToken", "RevokeApiToken", "ApiTokens"}


def test_records_operations_validate() -> None:
    published = build_schema((ROOT / "schema" / "schema.graphql").read_text())
    document = parse((CONTRACT / "records.graphql").read_text())
    mine = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode) and d.name and d.name.value not in ELSEWHERE
    ]
    assert len(mine) == 19
    errors = validate(published, DocumentNode(definitions=tuple(mine)))
    assert [e.message for e in errors] == []


async def test_an_integration_reads_account_scalars_but_not_revenue(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    await create_account(api.session, "Acme", external_ref="A-1")
    query = '{ accounts(filter: {externalRef: "A-1"}) { edges { node { name %s } } } }'
    found = await api.data(query % "tags", caller=erp)
    assert found["accounts"]["edges"][0]["node"] == {"name": "Acme", "tags": []}
    refused = await api.gql(query % "revenueLast12Months", caller=erp)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
