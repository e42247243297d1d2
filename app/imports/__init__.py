"""CSV imports and exports: the runner (modes, batches, row errors), one importer per kind,
the background jobs behind startImport and the `accountflow import/export` commands.

Every importer writes through the services of the mutation a row stands for (accounts,
leads, assignments, activities), so a row obeys the same rules and leaves the same audit
rows and events. May import: models, kit, and those features' services (never the other
way round); never strawberry, graphql-core or `schema`.
"""
