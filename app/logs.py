"""Every line the server writes, in one format on stderr: JSON lines or text.

`log_config` is the logging dictConfig that `serve` hands to uvicorn (so uvicorn's own lines
and every worker's come out the same way) and that the other commands apply themselves.
A request's lines carry its id, GraphQL operation, role and, when tracing, trace id
(app.observe); the access line (app.web.observe) adds method, path, status, duration, cost.
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

import orjson

from app import observe, tracing
from app.settings import Settings

ACCESS_LOGGER = "accountflow.access"
# What every LogRecord has: anything else on a record was passed as `extra=` and is shown.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_HIDDEN = frozenset({"color_message", "taskName"})  # uvicorn's coloured copy; asyncio's task
_CONTEXT = ("request_id", "operation", "role", "trace_id")


class RequestContext(logging.Filter):
    """Stamps each record with what is known about the request in flight (app.observe)."""

    def filter(self, record: logging.LogRecord) -> bool:
        observed = observe.current()
        if observed is not None:
            record.request_id = observed.request_id
            record.operation = observed.operation
            record.role = observed.role
        trace_id = tracing.current_trace_id()
        if trace_id is not None:
            record.trace_id = trace_id
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _STANDARD and key not in _HIDDEN and value is not None
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, then the rest."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_fields(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message [key=value ...]`, for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = _fields(record)
        if not fields:
            return text
        first, newline, rest = text.partition("\n")  # a traceback stays below the line
        pairs = " ".join(f"{key}={value}" for key, value in fields.items())
        return f"{first} [{pairs}]{newline}{rest}"


def log_config(settings: Settings) -> dict[str, Any]:
    level = settings.log_level
    formatter = JsonFormatter if settings.operate.log_format == "json" else TextFormatter
    quiet = {"level": "WARNING"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": formatter}},
        "filters": {"request": {"()": RequestContext}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "line",
                "filters": ["request"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's own lines go to the root's handler; its access lines are ours.
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
            "pgserver": quiet,
            "alembic.runtime.plugins": quiet,  # a line per plugin it loads, every run
        },
    }


def configure(settings: Settings) -> None:
    """Apply `log_config`, unless logging is set up already (by uvicorn from it, or a test
    runner's capture), as logging.basicConfig would."""
    if logging.getLogger().handlers:
        return
    logging.config.dictConfig(log_config(settings))
