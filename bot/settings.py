"""Every operator setting, read from the environment and ``.env``.

Nothing is built at import time: ``load_settings()`` is called from ``main()``
and the result is passed to whatever needs it.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BungieReportMode(enum.StrEnum):
    AUTO = "auto"
    DIRECT = "direct"
    HANDOFF = "handoff"


class LogFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


class SettingsError(Exception):
    """Raised with every problem found, so the operator can fix them in one pass."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    # Discord
    discord_token: SecretStr | None = None
    discord_api_base_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg"
    dev_guild_id: int | None = None
    # Sharding: which shards this process runs (README, "Running with shards").
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: str | None = None

    # Storage and logs
    database_path: Path = Path("./data/warden.db")
    # postgresql://user:password@host:5432/warden selects PostgreSQL instead of the file.
    database_url: SecretStr | None = None
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.TEXT
    report_retention_days: int = Field(default=365, ge=1)

    # Outgoing HTTP
    http_connect_timeout: float = Field(default=5.0, gt=0)
    http_read_timeout: float = Field(default=15.0, gt=0)

    # Bungie.net
    bungie_api_key: SecretStr | None = None
    bungie_client_id: str | None = None
    bungie_client_secret: SecretStr | None = None
    bungie_api_base_url: str = "https://www.bungie.net/Platform"
    bungie_stats_base_url: str = "https://stats.bungie.net/Platform"
    bungie_oauth_authorize_url: str = "https://www.bungie.net/en/OAuth/Authorize"
    bungie_oauth_token_url: str = "https://www.bungie.net/Platform/App/OAuth/token/"  # noqa: S105
    bungie_report_mode: BungieReportMode = BungieReportMode.AUTO
    bungie_reason_map: str | None = None
    bungie_handoff_url_template: str = (
        "https://www.bungie.net/en/PGCR/Report/{activity_id}/?characterId={character_id}"
    )
    # Bungie throttles each source IP at about this many requests per second (averaged
    # over 10 s); Warden paces every Bungie call below it rather than earn throttles.
    bungie_requests_per_second: float = Field(default=25.0, gt=0)
    # A report whose answer was lost is sent once more (Bungie refuses a repeat with
    # 1403, counted as delivered); off: never again, a moderator decides.
    bungie_resend_ambiguous: bool = True

    # Retries inside one outside-API call (the outbox retries deliveries on top of this)
    api_retry_attempts: int = Field(default=3, ge=1, le=10)
    api_retry_base_delay: float = Field(default=0.5, gt=0)
    api_retry_budget_seconds: float = Field(default=20.0, gt=0)

    # Report delivery (the outbox)
    outbox_concurrency: int = Field(default=8, ge=1, le=64)
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_retry_base_seconds: float = Field(default=5.0, gt=0)
    outbox_retry_max_seconds: float = Field(default=900.0, gt=0)
    outbox_give_up_hours: float = Field(default=24.0, gt=0)
    outbox_shutdown_grace_seconds: float = Field(default=5.0, ge=0)

    # Per-member limits (abuse of look-ups)
    # Unconfirmed report drafts one member may start per hour, across every server.
    report_drafts_per_hour: int = Field(default=20, ge=0)
    # Bungie look-ups one member's autocomplete may cause per minute.
    autocomplete_lookups_per_minute: int = Field(default=10, ge=0)

    # Moderator review
    review_post_settle_seconds: float = Field(default=1.0, ge=0, le=60)
    # Missing review posts are posted one per this many seconds (Discord allows about
    # 5 messages per 5 s in a channel; 1.25 leaves room for new reports' posts).
    review_catch_up_interval_seconds: float = Field(default=1.25, ge=0, le=60)

    # Game backend sanctions API (RallyHere)
    sanctions_api_base_url: str | None = None
    sanctions_client_id: str | None = None
    sanctions_client_secret: SecretStr | None = None

    # OAuth callback web server
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    public_base_url: str | None = None
    token_encryption_key: SecretStr | None = None

    @field_validator(
        "discord_api_base_url",
        "discord_gateway_url",
        "bungie_api_base_url",
        "bungie_stats_base_url",
        "bungie_oauth_authorize_url",
        "bungie_oauth_token_url",
        "sanctions_api_base_url",
        "public_base_url",
    )
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None if value == "" else value
        if not value.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("must be an absolute http(s):// or ws(s):// URL")
        return value.rstrip("/") if not value.endswith("/token/") else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError("must be a postgresql://user:password@host:5432/database URL")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator(
        "discord_token",
        "bungie_api_key",
        "bungie_client_secret",
        "sanctions_client_secret",
        "token_encryption_key",
        "database_url",
        mode="before",
    )
    @classmethod
    def _blank_secret(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "bungie_client_id", "sanctions_client_id", "dev_guild_id", "bungie_reason_map",
        "shard_count", "shard_ids", mode="before",
    )
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    # Where the data lives: the SQLite file, or PostgreSQL when DATABASE_URL is set.
    def database_location(self) -> Path | str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self.database_path

    def database_label(self) -> str:
        """The database for people to read: the file, or the URL without its password."""
        if self.database_url is None:
            return str(self.database_path)
        return _without_password(self.database_url.get_secret_value())

    # What is switched on, derived from what is configured.
    @property
    def bungie_enabled(self) -> bool:
        return self.bungie_api_key is not None

    @property
    def bungie_oauth_enabled(self) -> bool:
        return self.bungie_enabled and bool(self.bungie_client_id)

    @property
    def sanctions_enabled(self) -> bool:
        return bool(
            self.sanctions_api_base_url
            and self.sanctions_client_id
            and self.sanctions_client_secret is not None
        )

    @property
    def linking_enabled(self) -> bool:
        return bool(self.public_base_url) and (self.bungie_oauth_enabled or self.sanctions_enabled)

    def shard_list(self) -> list[int] | None:
        """The shards this process runs, or None for every shard (all of ``SHARD_COUNT``,
        or as many as Discord recommends). ``load_settings`` has checked ``SHARD_IDS``."""
        if self.shard_ids is None:
            return None
        return sorted({int(part) for part in self.shard_ids.split(",") if part.strip()})

    def token_keys(self) -> list[str]:
        """Encryption keys, newest first; the first one encrypts, all of them decrypt."""
        if self.token_encryption_key is None:
            return []
        raw = self.token_encryption_key.get_secret_value()
        return [k.strip() for k in raw.split(",") if k.strip()]


_HOW_TO_FIX: dict[str, str] = {
    "discord_token": "create a bot in the Discord developer portal and put its token in .env",
    "token_encryption_key": "run `python -m bot keygen` and put the key in .env",
}


def load_settings(*, require_token: bool = True, **overrides: Any) -> Settings:
    """Read settings, raising SettingsError listing every problem at once."""
    problems: list[str] = []
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError(problems) from None
    if require_token and settings.discord_token is None:
        problems.append(f"DISCORD_TOKEN: missing; {_HOW_TO_FIX['discord_token']}")
    problems.extend(_cross_checks(settings))
    if problems:
        raise SettingsError(problems)
    return settings


def _cross_checks(settings: Settings) -> list[str]:
    from bot.crypto import KeyError_, check_keys  # local: keeps settings free of crypto at import

    problems: list[str] = _shard_problems(settings)
    if settings.bungie_reason_map:
        from bot.apis.bungie.reasons import ReasonMapError, parse_reason_map

        try:
            parse_reason_map(settings.bungie_reason_map)
        except ReasonMapError as exc:
            problems.append(f"BUNGIE_REASON_MAP: {exc}")
    if settings.bungie_client_id and settings.bungie_client_secret is None:
        problems.append(
            "BUNGIE_CLIENT_SECRET: missing while BUNGIE_CLIENT_ID is set; register the Bungie "
            "application as Confidential (only those get refresh tokens, so links would die "
            "after an hour) and copy its OAuth client secret"
        )
    if settings.bungie_client_id and settings.bungie_api_key is None:
        problems.append("BUNGIE_API_KEY: missing while BUNGIE_CLIENT_ID is set; copy it from your "
                        "Bungie application page")
    if (settings.sanctions_client_id or settings.sanctions_client_secret) and not (
        settings.sanctions_enabled
    ):
        problems.append("SANCTIONS_API_BASE_URL, SANCTIONS_CLIENT_ID, SANCTIONS_CLIENT_SECRET: "
                        "set all three to enable the sanctions destination, or none")
    if settings.linking_enabled:
        if not settings.token_keys():
            problems.append(f"TOKEN_ENCRYPTION_KEY: missing while account linking is enabled; "
                            f"{_HOW_TO_FIX['token_encryption_key']}")
        else:
            try:
                check_keys(settings.token_keys())
            except KeyError_ as exc:
                fix = _HOW_TO_FIX["token_encryption_key"]
                problems.append(f"TOKEN_ENCRYPTION_KEY: {exc}; {fix}")
        if settings.public_base_url and not settings.public_base_url.startswith("https://"):
            host = settings.public_base_url.split("://", 1)[-1]
            if not host.startswith(("127.0.0.1", "localhost", "[::1]")):
                problems.append(
                    "PUBLIC_BASE_URL: must be https:// (Bungie only redirects to HTTPS); "
                    "put the web server behind a TLS reverse proxy"
                )
    return problems


def _shard_problems(settings: Settings) -> list[str]:
    raw = settings.shard_ids
    if raw is None:
        return []
    parts = [part.strip() for part in raw.split(",")]
    if not all(part.isdigit() for part in parts):
        return [f"SHARD_IDS: {raw!r} is not a comma-separated list of shard numbers (e.g. 0,1)"]
    if settings.shard_count is None:
        return ["SHARD_IDS: set SHARD_COUNT too (the total number of shards across every "
                "process), or neither to run every shard here"]
    outside = sorted({int(p) for p in parts if int(p) >= settings.shard_count})
    if outside:
        return [f"SHARD_IDS: shard {', '.join(map(str, outside))} is outside 0 to "
                f"{settings.shard_count - 1} (SHARD_COUNT={settings.shard_count})"]
    return []


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{sep}{user}@{host}"
