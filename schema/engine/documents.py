"""One parse per document text, bounded by its number of tokens.

graphql-core parses in Python, linearly in a document's tokens: 190,000 `__typename` tokens
(1.9 MB, under the body limit) held a worker, and every request waiting on it, for seconds.
With `max_tokens` (ACCOUNTFLOW_MAX_TOKENS, comments counted too) the parser gives up past
the limit, so such a document is refused in milliseconds.

The compiled path and strawberry each parsed a text they had not seen. Both now read the
LRU of strawberry's ParserCache (one per size, shared by every instance) with the options
CostExtension gives strawberry's parse, so a new text is parsed once, whichever path
answers it.
"""

from __future__ import annotations

from collections.abc import Callable

from graphql import DocumentNode, GraphQLError, GraphQLSchema, GraphQLSyntaxError, parse
from strawberry.extensions import ParserCache

TOO_MANY_TOKENS = "TOO_MANY_TOKENS"


class TooManyTokensError(GraphQLError):
    """A document over the token limit: refused before anything ran, nothing charged."""

    def __init__(self, max_tokens: int) -> None:
        super().__init__(
            f"The document has more than {max_tokens} tokens; send large inputs as variables.",
            extensions={"code": TOO_MANY_TOKENS, "maxTokens": max_tokens},
        )


def _shared_parse(schema: GraphQLSchema) -> Callable[..., DocumentNode]:
    """ParserCache's parse when strawberry's schema has one, else graphql-core's."""
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    for extension in strawberry_schema.get_extensions() if strawberry_schema else ():
        if isinstance(extension, ParserCache):
            found: Callable[..., DocumentNode] = extension.cached_parse_document
            return found
    return parse


class Documents:
    def __init__(self, schema: GraphQLSchema, max_tokens: int) -> None:
        self.parse = _shared_parse(schema)
        self.max_tokens = max_tokens
        # graphql-core's words for this limit (its version is pinned; a test reads them)
        self.over = f"Document contains more than {max_tokens} tokens. Parsing aborted."

    def __call__(self, query: str) -> DocumentNode:
        """The document; TooManyTokensError over the limit, GraphQLError if not a document."""
        try:
            return self.parse(query, max_tokens=self.max_tokens)
        except GraphQLSyntaxError as error:
            if error.message.endswith(self.over):
                raise TooManyTokensError(self.max_tokens) from None
            raise


__all__ = ["TOO_MANY_TOKENS", "Documents", "TooManyTokensError"]
