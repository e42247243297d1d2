"""accountflow's domain: one package per feature over shared models and a small kit.

Below the features: `models` (every table), `kit` (what every writer and reader shares), and
the modules `db`, `settings`, `errors`, `enums`, `events`. Above them: `web` (the Starlette
edge) and `__main__` (the CLI), the only modules that may import the GraphQL layer, `schema`.
No two packages import each other: a feature calls another's service one way only.
"""
