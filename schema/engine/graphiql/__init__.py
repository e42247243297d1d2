"""GraphiQL, served by the app: its page and assets (React, GraphiQL and the explorer
plugin, vendored from npm in static/vendor/) come from this origin, so it works offline."""

import functools
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"


@functools.cache
def page() -> str:
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8")
