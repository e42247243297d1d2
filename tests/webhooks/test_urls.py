"""IPv6 addresses that carry an IPv4 one: refused when that IPv4 address is, through the API
with private addresses refused (the default), before anything is saved or sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.models.auth import Role
from app.models.webhooks import Webhook
from app.settings import Settings
from tests.support import Api
from tests.webhooks.support import count


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"ACCOUNTFLOW_DATA_DIR": str(tmp_path)})


async def _create(api: Api, url: str) -> dict[str, object]:
    admin = await api.caller(Role.ADMIN)
    variables = {"input": {"url": url, "events": ["ACCOUNT_CREATED"]}}
    payload: dict[str, object] = (await api.op("CreateWebhook", variables, caller=admin))[
        "createWebhook"
    ]
    return payload


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",  # NAT64 of 169.254.169.254
        "http://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "http://[64:ff9b:1::808:808]/hook",  # NAT64's local-use prefix, whatever it embeds
        "http://[2002:a9fe:a9fe::]/latest/meta-data",  # 6to4 of 169.254.169.254
        "http://[2002:7f00:1::1]/hook",  # 6to4 of 127.0.0.1
        "http://[::127.0.0.1]/hook",  # IPv4-compatible
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
        "http://[::ffff:0:a9fe:a9fe]/hook",  # IPv4-translated (SIIT)
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
        "http://168.63.129.16/machine",  # Azure's metadata (wire server): a global address
    ],
)
async def test_an_address_embedding_a_refused_ipv4_is_refused(api: Api, url: str) -> None:
    payload = await _create(api, url)
    assert payload["webhook"] is None
    assert payload["errors"] == [
        {
            "code": "INVALID_INPUT",
            "field": "url",
            "message": "The url's host resolves to a private, loopback or link-local address.",
        }
    ]
    assert await count(api.session, Webhook) == 0


@pytest.mark.parametrize(
    "url",
    ["http://[64:ff9b::808:808]/hook", "http://[2002:808:808::1]/hook", "http://8.8.8.8/hook"],
)
async def test_an_address_embedding_a_public_ipv4_is_accepted(api: Api, url: str) -> None:
    payload = await _create(api, url)
    assert payload["errors"] == []
    assert await count(api.session, Webhook) == 1
