# The WebSocket cases need the app served over a real socket, as the subscription tests do.
from tests.schema.engine.subscriptions.conftest import ws_url

__all__ = ["ws_url"]
