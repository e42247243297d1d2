"""The published SDL and the contract stay in step with the code."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from schema import schema
from tests.support import CONTRACT

ROOT = Path(__file__).resolve().parents[2]
SHARED_CONTRACT = ROOT.parent / "shared" / "contract"


def test_committed_sdl_matches_the_code() -> None:
    committed = (ROOT / "schema" / "schema.graphql").read_text()
    assert committed == schema.as_str() + "\n", (
        "run: .venv/bin/python -m app export-schema > schema/schema.graphql"
    )


@pytest.mark.parametrize(
    "name",
    ["accounts.graphql", "cadence.graphql", "handoff.graphql", "planning.graphql", "push.graphql"],
)
def test_contract_operations_validate_against_the_schema(name: str) -> None:
    published = build_schema((ROOT / "schema" / "schema.graphql").read_text())
    errors = validate(published, parse((CONTRACT / name).read_text()))
    assert [e.message for e in errors] == []


@pytest.mark.skipif(not SHARED_CONTRACT.exists(), reason="no ../shared checkout beside the repo")
def test_vendored_contract_is_the_shared_one() -> None:
    for path in CONTRACT.glob("*.graphql"):
        assert path.read_text() == (SHARED_CONTRACT / path.name).read_text(), path.name
