from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class SettingsError(ValueError):
    pass


def _int(env: dict[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 40
    max_page_size: int = 100
    default_page_size: int = 50
    max_batch: int = 1000
    max_body_bytes: int = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Push:
    """Webhook deliveries and subscriptions (issue 11)."""

    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = 10.0
    run_worker: bool = False
    token_recheck_seconds: float = 5.0

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Push:
        return cls(
            webhook_allow_private=env.get("ACCOUNTFLOW_WEBHOOK_ALLOW_PRIVATE", "") == "1",
            webhook_timeout_seconds=_int(env, "ACCOUNTFLOW_WEBHOOK_TIMEOUT", 10),
            run_worker=env.get("ACCOUNTFLOW_WORKER", "") == "1",
            token_recheck_seconds=_int(env, "ACCOUNTFLOW_TOKEN_RECHECK_SECONDS", 5),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None
    replica_url: str | None
    data_dir: Path
    limits: Limits
    log_level: str
    push: Push = Push()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        url = env.get("DATABASE_URL") or None
        if url is not None and not url.startswith("postgresql+asyncpg://"):
            raise SettingsError("DATABASE_URL must start with postgresql+asyncpg://")
        limits = Limits(
            max_depth=_int(env, "ACCOUNTFLOW_MAX_DEPTH", 12),
            max_aliases=_int(env, "ACCOUNTFLOW_MAX_ALIASES", 40),
            max_page_size=_int(env, "ACCOUNTFLOW_MAX_PAGE_SIZE", 100),
            max_batch=_int(env, "ACCOUNTFLOW_MAX_BATCH", 1000),
            max_body_bytes=_int(env, "ACCOUNTFLOW_MAX_BODY_BYTES", 2 * 1024 * 1024),
        )
        return cls(
            database_url=url,
            replica_url=env.get("DATABASE_REPLICA_URL") or None,
            data_dir=Path(env.get("ACCOUNTFLOW_DATA_DIR") or "./.accountflow").resolve(),
            limits=limits,
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            push=Push.from_env(env),
        )
