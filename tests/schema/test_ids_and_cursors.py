"""Malformed global ids answer INVALID_ID and malformed cursors INVALID_CURSOR, never INTERNAL."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import orjson
import pytest

from app.kit.cursor import seal
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.support import Api


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass(frozen=True, slots=True)
class Sealed:
    """A cursor's array, sealed with the server's key once the server runs (`sent`)."""

    plain: bytes


def cursor(values: object) -> Sealed:
    return Sealed(orjson.dumps(values))


def sent(bad: str | Sealed) -> str:
    return seal(bad.plain) if isinstance(bad, Sealed) else bad


BAD_IDS = [
    b64(b"Account:" + b"9" * 40),  # beyond bigint
    b64(b"Account:9223372036854775808"),
    b64(b"Account:1_000"),
    b64(b"Account: 12"),
    b64(b"Account:-1"),
    b64(b"Account:0"),
    b64(b"Account"),
    b64(b"\xff\xfe:1"),
    "not base64!",
    "QWNjb3VudDox" * 20,
    "",
]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_node_with_a_malformed_id_is_invalid_id(api: Api, bad: str) -> None:
    rep = await api.caller(Role.REP)
    result = await api.gql("query($id: ID!) { node(id: $id) { id } }", {"id": bad}, caller=rep)
    assert result["data"] == {"node": None}
    assert [e["extensions"]["code"] for e in result["errors"]] == ["INVALID_ID"]


async def test_a_mutation_with_a_huge_id_is_a_field_named_error(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    variables = {"input": {"id": BAD_IDS[0], "name": "New"}}
    result = (await api.op("UpdateAccount", variables, caller=manager))["updateAccount"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_ID", "id")]


async def test_the_largest_bigint_is_a_well_formed_id(api: Api) -> None:
    rep = await api.caller(Role.REP)
    gid = to_global_id("Account", 2**63 - 1)
    data = await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": gid}, caller=rep)
    assert data == {"node": None}


BAD_CURSORS = [
    "garbage",
    "%%%",
    cursor([1, 2]),  # (name, id): a number for the name
    cursor(["Acme"]),  # one value short
    Sealed(b'["Acme", 1180591620717411303424]'),  # beyond bigint
    cursor(["Acme", 1.5]),
    cursor(["Acme", True]),
    cursor(["Ac\x00me", 1]),
    cursor({"name": "Acme"}),
    cursor(["Acme", {"dt": "yesterday"}]),
    cursor(["Acme", {"n": "abc"}]),
    "x" * 5000,
]


@pytest.mark.parametrize("bad", BAD_CURSORS)
async def test_a_malformed_cursor_is_invalid_cursor(api: Api, bad: str | Sealed) -> None:
    rep = await api.caller(Role.REP)
    await create_account(api.session, "Acme")
    query = "query($after: String) { accounts(first: 5, after: $after) { totalCount } }"
    result = await api.gql(query, {"after": sent(bad)}, caller=rep)
    assert result["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in result["errors"]] == [
        ("INVALID_CURSOR", "after")
    ]


@pytest.mark.parametrize(
    "bad",
    [
        cursor([{"dt": "2026-01-01T00:00:00+00:00"}, "x"]),  # (occurred_at, id)
        cursor(["2026-01-01T00:00:00+00:00", 1]),
        cursor([{"dt": "0001-01-01T00:00:00+14:00"}, 1]),
        cursor([{"dt": "2026-01-01T00:00:00"}, 1]),  # no zone
    ],
)
async def test_a_malformed_cursor_inside_a_nested_connection_is_invalid_cursor(
    api: Api, bad: Sealed
) -> None:
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Acme")
    query = """query($id: ID!, $after: String) {
      node(id: $id) { ... on Account { activities(first: 5, after: $after) { totalCount } } }
    }"""
    variables = {"id": to_global_id("Account", account.id), "after": sent(bad)}
    result = await api.gql(query, variables, caller=rep)
    assert [e["extensions"]["code"] for e in result["errors"]] == ["INVALID_CURSOR"]


async def test_a_real_cursor_still_pages(api: Api) -> None:
    rep = await api.caller(Role.REP)
    for name in ("A", "B", "C"):
        await create_account(api.session, name)
    query = """query($after: String) {
      accounts(first: 2, after: $after) { edges { node { name } } pageInfo { endCursor } }
    }"""
    first = (await api.data(query, caller=rep))["accounts"]
    rest = (await api.data(query, {"after": first["pageInfo"]["endCursor"]}, caller=rep))[
        "accounts"
    ]
    assert [e["node"]["name"] for e in first["edges"] + rest["edges"]] == ["A", "B", "C"]
