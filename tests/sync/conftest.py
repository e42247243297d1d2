"""The subscriptions' fixtures (a uvicorn server for the test's app), for cadenceChanged."""

from tests.schema.engine.subscriptions.conftest import settings, ws_url

__all__ = ["settings", "ws_url"]
