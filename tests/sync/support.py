"""Reading the event feed as an integration does: the contract's EventFeed, page by page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support import Api, Caller


@dataclass(frozen=True, slots=True)
class FeedPage:
    nodes: list[dict[str, Any]]
    end_cursor: str | None
    has_next_page: bool

    @property
    def types(self) -> list[str]:
        return [node["type"] for node in self.nodes]

    def names(self) -> list[str]:
        """The `name` in each event's data (contacts, accounts)."""
        return [node["data"].get("name") for node in self.nodes]


async def feed(
    api: Api,
    caller: Caller,
    *,
    after: str | None = None,
    first: int | None = None,
    types: list[str] | None = None,
) -> FeedPage:
    variables = {"after": after, "first": first, "types": types}
    found = (await api.op("EventFeed", variables, caller=caller))["events"]
    info = found["pageInfo"]
    nodes = [edge["node"] for edge in found["edges"]]
    return FeedPage(nodes, info["endCursor"], info["hasNextPage"])


async def catch_up(api: Api, caller: Caller, after: str | None, **kwargs: Any) -> FeedPage:
    """Every page from `after` on, as one page (the cursor: the last one handed out)."""
    nodes: list[dict[str, Any]] = []
    while True:
        page = await feed(api, caller, after=after, **kwargs)
        nodes += page.nodes
        after = page.end_cursor or after
        if not page.has_next_page:
            return FeedPage(nodes, after, False)
