from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
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


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 <= value < 86_400:
        raise SettingsError(f"{name} must be between 0 and 86400 seconds, got {value}")
    return value


ENVIRONMENTS = ("development", "production")


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or choices[0]).strip().lower()
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0, got {raw!r}")


MIN_SECRET = 32  # characters


def _secret(env: dict[str, str], name: str) -> str | None:
    raw = env.get(name) or None
    if raw is not None and len(raw) < MIN_SECRET:
        raise SettingsError(f"{name} must be at least {MIN_SECRET} characters")
    return raw


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 40
    max_page_size: int = 100
    default_page_size: int = 50
    max_batch: int = 1000
    max_body_bytes: int = 2 * 1024 * 1024
    max_cost: int = 50_000
    # graphql-core stops parsing a document past this many tokens (comments included).
    max_tokens: int = 10_000
    # An account's contacts, assignments and stage history: at most this many each.
    max_list_items: int = 100
    # Per user, in this process (each worker keeps its own budget); 0 turns it off.
    cost_per_minute: int = 5_000_000
    max_upload_bytes: int = 512 * 1024 * 1024  # a CSV import's file (multipart upload)
    # POST /ingest/activities: NDJSON lines and bytes per request.
    max_ingest_lines: int = 100_000
    max_ingest_bytes: int = 64 * 1024 * 1024


# --- database timeouts and the contact-rule rebuild (helper inputs) ----------------------
@dataclass(frozen=True, slots=True)
class DbTimeouts:
    """Server-side limits set on every connection, in milliseconds (0 turns one off).

    Reports raise their statement limit for their own transaction (SET LOCAL).
    """

    statement_ms: int = 15_000
    lock_ms: int = 5_000
    idle_in_transaction_ms: int = 60_000
    report_statement_ms: int = 60_000
    # A bulk ingest's transaction: statements and lock waits (a 100,000-line merge).
    ingest_statement_ms: int = 120_000

    @classmethod
    def from_env(cls, env: dict[str, str]) -> DbTimeouts:
        return cls(
            statement_ms=_int(env, "ACCOUNTFLOW_STATEMENT_TIMEOUT_MS", 15_000, minimum=0),
            lock_ms=_int(env, "ACCOUNTFLOW_LOCK_TIMEOUT_MS", 5_000, minimum=0),
            idle_in_transaction_ms=_int(
                env, "ACCOUNTFLOW_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60_000, minimum=0
            ),
            report_statement_ms=_int(
                env, "ACCOUNTFLOW_REPORT_STATEMENT_TIMEOUT_MS", 60_000, minimum=0
            ),
            ingest_statement_ms=_int(
                env, "ACCOUNTFLOW_INGEST_STATEMENT_TIMEOUT_MS", 120_000, minimum=0
            ),
        )

    def server_settings(self) -> dict[str, str]:
        return {
            "statement_timeout": str(self.statement_ms),
            "lock_timeout": str(self.lock_ms),
            "idle_in_transaction_session_timeout": str(self.idle_in_transaction_ms),
            "accountflow.report_statement_timeout": str(self.report_statement_ms),
        }


@dataclass(frozen=True, slots=True)
class DbPool:
    """Connections per worker process: up to pool_size + max_overflow (see README)."""

    pool_size: int = 10
    max_overflow: int = 20

    @classmethod
    def from_env(cls, env: dict[str, str]) -> DbPool:
        return cls(
            pool_size=_int(env, "ACCOUNTFLOW_DB_POOL_SIZE", 10),
            max_overflow=_int(env, "ACCOUNTFLOW_DB_MAX_OVERFLOW", 20, minimum=0),
        )


@dataclass(frozen=True, slots=True)
class RebuildJob:
    """The background rebuild of assignments after a contact-rule change."""

    batch_size: int = 2_000
    interval_ms: int = 1_000

    @classmethod
    def from_env(cls, env: dict[str, str]) -> RebuildJob:
        return cls(
            batch_size=_int(env, "ACCOUNTFLOW_CONTACT_REBUILD_BATCH", 2_000),
            interval_ms=_int(env, "ACCOUNTFLOW_CONTACT_REBUILD_INTERVAL_MS", 1_000),
        )


# --- end database timeouts and the contact-rule rebuild ------------------------------------


@dataclass(frozen=True, slots=True)
class Push:
    """Webhook deliveries and subscriptions (issue 11)."""

    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = 10.0
    run_worker: bool = False
    token_recheck_seconds: float = 5.0
    # The outbox keeps events this long for the feed (`events`) and webhook history.
    event_retention_days: int = 30

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Push:
        return cls(
            webhook_allow_private=env.get("ACCOUNTFLOW_WEBHOOK_ALLOW_PRIVATE", "") == "1",
            webhook_timeout_seconds=_int(env, "ACCOUNTFLOW_WEBHOOK_TIMEOUT", 10),
            run_worker=env.get("ACCOUNTFLOW_WORKER", "") == "1",
            token_recheck_seconds=_int(env, "ACCOUNTFLOW_TOKEN_RECHECK_SECONDS", 5),
            event_retention_days=_int(env, "ACCOUNTFLOW_EVENT_RETENTION_DAYS", 30),
        )

    @property
    def event_retention(self) -> timedelta:
        return timedelta(days=self.event_retention_days)


LOG_FORMATS = ("text", "json")


@dataclass(frozen=True, slots=True)
class Operate:
    """Logs, CORS and the /metrics scrape token (issue 20; traces read the OTEL_* variables)."""

    log_format: str = "text"  # json is the default when ACCOUNTFLOW_ENV=production
    cors_origins: tuple[str, ...] = ()  # none: no cross-origin access
    metrics_token: str | None = None  # a bearer token that may read /metrics, and only it

    @classmethod
    def from_env(cls, env: dict[str, str], *, production: bool) -> Operate:
        raw = (env.get("ACCOUNTFLOW_LOG_FORMAT") or "").strip().lower()
        log_format = raw or ("json" if production else "text")
        if log_format not in LOG_FORMATS:
            raise SettingsError(f"ACCOUNTFLOW_LOG_FORMAT must be text or json, got {raw!r}")
        origins = env.get("ACCOUNTFLOW_CORS_ORIGINS") or ""
        return cls(
            log_format=log_format,
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            metrics_token=(env.get("ACCOUNTFLOW_METRICS_TOKEN") or "").strip() or None,
        )


@dataclass(frozen=True, slots=True)
class ImportJobs:
    """Background CSV imports, claimed from import_jobs with a lease (issue 20)."""

    concurrency: int = 2  # jobs at once per process; each holds up to two connections
    lease_seconds: float = 60.0  # renewed every third of it while the job runs
    shutdown_seconds: float = 20.0  # how long shutdown waits before leaving jobs to others
    poll_seconds: float = 5.0  # how often an idle process looks for queued or orphaned jobs

    @classmethod
    def from_env(cls, env: dict[str, str]) -> ImportJobs:
        lease = _seconds(env, "ACCOUNTFLOW_IMPORT_LEASE_SECONDS", 60.0)
        poll = _seconds(env, "ACCOUNTFLOW_IMPORT_POLL_SECONDS", 5.0)
        for name, value in (("LEASE", lease), ("POLL", poll)):
            if value <= 0:
                raise SettingsError(f"ACCOUNTFLOW_IMPORT_{name}_SECONDS must be above 0")
        return cls(
            concurrency=_int(env, "ACCOUNTFLOW_IMPORT_CONCURRENCY", 2),
            lease_seconds=lease,
            shutdown_seconds=_seconds(env, "ACCOUNTFLOW_IMPORT_SHUTDOWN_SECONDS", 20.0),
            poll_seconds=poll,
        )


TIMEOUTS_PER = ("connection", "transaction", "role")


@dataclass(frozen=True, slots=True)
class Pooler:
    """How connections carry their settings. Behind PgBouncer in transaction mode the
    startup packet may hold no timeouts (set them per transaction, or on the role) and
    prepared statements must not outlive a transaction (no statement cache)."""

    timeouts_per: str = "connection"
    statement_cache: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Pooler:
        return cls(
            timeouts_per=_choice(env, "ACCOUNTFLOW_DB_TIMEOUTS_PER", TIMEOUTS_PER),
            statement_cache=_flag(env, "ACCOUNTFLOW_DB_STATEMENT_CACHE", True),
        )


@dataclass(frozen=True, slots=True)
class WebSockets:
    """graphql-transport-ws connections (schema/engine/ws.py); a frame's limit is max_body_bytes."""

    ping_interval: float = 20.0  # seconds between pings (0: none)
    ping_timeout: float = 20.0  # a ping unanswered this long closes the connection (1011)
    max_subscriptions: int = 50  # live subscriptions per user, per worker process
    queue_size: int = 1_000  # events a subscription may have waiting; past it: closed (1013)

    @classmethod
    def from_env(cls, env: dict[str, str]) -> WebSockets:
        return cls(
            ping_interval=_seconds(env, "ACCOUNTFLOW_WS_PING_INTERVAL", 20.0),
            ping_timeout=_seconds(env, "ACCOUNTFLOW_WS_PING_TIMEOUT", 20.0),
            max_subscriptions=_int(env, "ACCOUNTFLOW_WS_MAX_SUBSCRIPTIONS", 50),
            queue_size=_int(env, "ACCOUNTFLOW_WS_QUEUE_SIZE", 1_000),
        )


@dataclass(frozen=True, slots=True)
class DailyUpkeep:
    """The daily balance refresh, and the reminder loop (app.tasks.reminders), run by the
    servers themselves."""

    enabled: bool = True
    check_seconds: float = 300.0  # the first check comes this long after the start
    reminders: bool = True
    reminder_seconds: float = 15.0  # a reminder goes out at most this long after its time

    @classmethod
    def from_env(cls, env: dict[str, str]) -> DailyUpkeep:
        check = _seconds(env, "ACCOUNTFLOW_DAILY_UPKEEP_CHECK_SECONDS", 300.0)
        remind = _seconds(env, "ACCOUNTFLOW_REMINDER_INTERVAL", 15.0)
        if check <= 0 or not 0 < remind <= 60:
            raise SettingsError(
                "ACCOUNTFLOW_DAILY_UPKEEP_CHECK_SECONDS must be above 0, "
                "ACCOUNTFLOW_REMINDER_INTERVAL above 0 and at most 60"
            )
        enabled = _flag(env, "ACCOUNTFLOW_DAILY_UPKEEP", True)
        reminders = _flag(env, "ACCOUNTFLOW_REMINDERS", True)
        return cls(enabled, check, reminders, remind)


@dataclass(frozen=True, slots=True)
class Security:
    """Issue 18: CSV cells a spreadsheet would run, live tokens per user."""

    # Export CSV cells as stored, `=HYPERLINK(…)` and all (for consumers that are no
    # spreadsheet); by default such a cell is quoted with an apostrophe (app.kit.csv_cells).
    csv_raw: bool = False
    max_tokens_per_user: int = 100  # live (unrevoked, unexpired) tokens per user

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Security:
        return cls(
            csv_raw=_flag(env, "ACCOUNTFLOW_CSV_RAW", False),
            max_tokens_per_user=_int(env, "ACCOUNTFLOW_MAX_TOKENS_PER_USER", 100),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None
    replica_url: str | None
    data_dir: Path
    limits: Limits
    log_level: str
    replica_max_lag: float = 5.0
    production: bool = False
    # Queries the read compiler covers run as one SQL statement (schema/engine/compiled).
    compiled_reads: bool = True
    timeouts: DbTimeouts = DbTimeouts()
    rebuild: RebuildJob = RebuildJob()
    pool: DbPool = DbPool()
    push: Push = Push()
    # Seals cursors (app.kit.keys): None uses the key generated in the database.
    cursor_key: str | None = field(default=None, repr=False)
    # What needs a session of its own (LISTEN, session locks, migrations) when
    # DATABASE_URL goes through a transaction-mode pooler; None: DATABASE_URL.
    direct_url: str | None = None
    pooler: Pooler = Pooler()
    imports: ImportJobs = ImportJobs()
    daily: DailyUpkeep = DailyUpkeep()
    ws: WebSockets = WebSockets()
    operate: Operate = Operate()
    security: Security = Security()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        url = env.get("DATABASE_URL") or None
        replica = env.get("DATABASE_REPLICA_URL") or None
        direct = env.get("DATABASE_DIRECT_URL") or None
        urls = (("DATABASE_URL", url), ("DATABASE_REPLICA_URL", replica))
        for name, value in (*urls, ("DATABASE_DIRECT_URL", direct)):
            if value is not None and not value.startswith("postgresql+asyncpg://"):
                raise SettingsError(f"{name} must start with postgresql+asyncpg://")
        limits = Limits(
            max_depth=_int(env, "ACCOUNTFLOW_MAX_DEPTH", 12),
            max_aliases=_int(env, "ACCOUNTFLOW_MAX_ALIASES", 40),
            max_page_size=_int(env, "ACCOUNTFLOW_MAX_PAGE_SIZE", 100),
            max_batch=_int(env, "ACCOUNTFLOW_MAX_BATCH", 1000),
            max_body_bytes=_int(env, "ACCOUNTFLOW_MAX_BODY_BYTES", 2 * 1024 * 1024),
            max_cost=_int(env, "ACCOUNTFLOW_MAX_COST", 50_000),
            max_tokens=_int(env, "ACCOUNTFLOW_MAX_TOKENS", 10_000),
            max_list_items=_int(env, "ACCOUNTFLOW_MAX_LIST_ITEMS", 100),
            cost_per_minute=_int(
                env, "ACCOUNTFLOW_RATE_LIMIT_COST_PER_MINUTE", 5_000_000, minimum=0
            ),
            max_upload_bytes=_int(env, "ACCOUNTFLOW_MAX_UPLOAD_BYTES", 512 * 1024 * 1024),
            max_ingest_lines=_int(env, "ACCOUNTFLOW_MAX_INGEST_LINES", 100_000),
            max_ingest_bytes=_int(env, "ACCOUNTFLOW_MAX_INGEST_BYTES", 64 * 1024 * 1024),
        )
        production = _choice(env, "ACCOUNTFLOW_ENV", ENVIRONMENTS) == "production"
        return cls(
            database_url=url,
            replica_url=replica,
            data_dir=Path(env.get("ACCOUNTFLOW_DATA_DIR") or "./.accountflow").resolve(),
            limits=limits,
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            replica_max_lag=_seconds(env, "ACCOUNTFLOW_REPLICA_MAX_LAG_SECONDS", 5.0),
            production=production,
            compiled_reads=_flag(env, "ACCOUNTFLOW_COMPILED_READS", True),
            timeouts=DbTimeouts.from_env(env),
            rebuild=RebuildJob.from_env(env),
            pool=DbPool.from_env(env),
            push=Push.from_env(env),
            cursor_key=_secret(env, "ACCOUNTFLOW_CURSOR_KEY"),
            direct_url=direct,
            pooler=Pooler.from_env(env),
            imports=ImportJobs.from_env(env),
            daily=DailyUpkeep.from_env(env),
            ws=WebSockets.from_env(env),
            operate=Operate.from_env(env, production=production),
            security=Security.from_env(env),
        )
