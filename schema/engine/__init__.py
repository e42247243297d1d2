"""The GraphQL engine: the only code that touches strawberry's and graphql-core's internals.

HTTP and WebSocket transport, executor, compiled read path, limits, variables. Imports the
domain and the schema's types; the feature modules of `schema` never import private hooks.
"""
