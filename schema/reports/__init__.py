from schema.reports.queries import Query

__all__ = ["Query"]
