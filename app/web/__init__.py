"""The Starlette edge: app factory and lifespan, authentication, /graphql, WebSocket,
/ingest, /export, /metrics and the dashboard.

May import everything, including the GraphQL layer (`schema`); nothing imports it but the CLI.
"""
