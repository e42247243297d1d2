"""Webhooks are ADMIN's: their audit entries reach admins only, and no entry keeps a URL's
secret path, query or credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from app.audit import redact
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.settings import Settings
from schema.relay import to_global_id
from tests.support import Api, Caller

SECRET_URL = "http://127.0.0.1:9/hooks/s3cr3t-path?key=s3cr3t-key"
OTHER_URL = "http://127.0.0.1:9/other/s3cr3t-again"
REDACTED = "http://127.0.0.1:9/…"
LOG = """query($entityId: ID) { auditLog(entityId: $entityId, first: 50) {
    totalCount edges { node { action entityType entityId changes } } } }"""
CREATE = """mutation($input: CreateWebhookInput!) {
    createWebhook(input: $input) { webhook { id } errors { code } } }"""
UPDATE = """mutation($input: UpdateWebhookInput!) {
    updateWebhook(input: $input) { errors { code } } }"""
DELETE = """mutation($input: DeleteWebhookInput!) {
    deleteWebhook(input: $input) { errors { code } } }"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Webhooks to 127.0.0.1 are allowed here."""
    env = {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_WEBHOOK_ALLOW_PRIVATE": "1"}
    return Settings.from_env(env)


async def _webhook_history(api: Api, admin: Caller) -> str:
    """A webhook created, moved to another URL and deleted: its global id."""
    created = await api.data(
        CREATE, {"input": {"url": SECRET_URL, "events": ["ACCOUNT_CREATED"]}}, caller=admin
    )
    hook_id: str = created["createWebhook"]["webhook"]["id"]
    for mutation, values in ((UPDATE, {"url": OTHER_URL}), (DELETE, {})):
        done = await api.data(mutation, {"input": {"id": hook_id, **values}}, caller=admin)
        assert next(iter(done.values()))["errors"] == []
    return hook_id


async def _log(api: Api, caller: Caller, entity_id: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(LOG, {"entityId": entity_id}, caller=caller))[
        "auditLog"
    ]
    return found


async def test_a_manager_reads_no_webhook_entry(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    manager = await api.caller(Role.MANAGER)
    hook_id = await _webhook_history(api, admin)
    log = await _log(api, manager)
    assert {e["node"]["entityType"] for e in log["edges"]} == {"User", "ApiToken"}
    assert log["totalCount"] == len(log["edges"])
    assert "s3cr3t" not in str(log)
    assert "127.0.0.1" not in str(log)
    assert await _log(api, manager, hook_id) == {"totalCount": 0, "edges": []}


async def test_an_admin_reads_webhook_entries_without_their_secrets(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    hook_id = await _webhook_history(api, admin)
    log = await _log(api, admin, hook_id)
    assert "s3cr3t" not in str(log)
    assert [(e["node"]["action"], e["node"]["changes"]["url"]) for e in log["edges"]] == [
        ("webhook.delete", {"before": REDACTED, "after": None}),
        ("webhook.update", {"before": REDACTED, "after": REDACTED}),
        ("webhook.create", {"before": None, "after": REDACTED}),
    ]


async def test_an_entry_written_before_redaction_is_redacted_when_read(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    manager = await api.caller(Role.MANAGER)
    old = {"url": {"before": None, "after": SECRET_URL}, "secret": "whsec_old"}
    await api.session.execute(
        insert(AuditEntry).values(
            action="webhook.create", entity_type="Webhook", entity_id=77, changes=old
        )
    )
    await api.session.commit()
    hook_id = to_global_id("Webhook", 77)
    assert (await _log(api, manager, hook_id))["edges"] == []
    [entry] = (await _log(api, admin, hook_id))["edges"]
    assert entry["node"]["changes"] == {
        "url": {"before": None, "after": REDACTED},
        "secret": "[redacted]",
    }


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://hooks.example.com/T0/B1/xyz?token=abc#frag", "https://hooks.example.com/…"),
        ("https://user:pass@[::1]:8443/path", "https://[::1]:8443/…"),
        ("not a url", "[redacted]"),
        (None, None),
    ],
)
def test_a_url_keeps_only_its_origin(url: str | None, kept: str | None) -> None:
    assert redact.url(url) == kept
