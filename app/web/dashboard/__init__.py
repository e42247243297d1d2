"""The managers' dashboard: a static page that reads the GraphQL API with a pasted token."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
DASHBOARD_PAGE = STATIC_DIR / "index.html"
