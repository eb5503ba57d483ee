"""One settings object for the whole app, read once from the environment and `.env`.

Atelier's own variables are ``ATELIER_*``; the standard ``OPENAI_API_KEY``,
``OPENAI_BASE_URL`` and ``OPENAI_ORG_ID`` are read under their usual names.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.images.spec import normalize_size

Quality = Literal["low", "medium", "high", "auto", "xhigh", "max"]
OutputFormat = Literal["png", "jpeg", "webp"]
Background = Literal["auto", "opaque", "transparent"]
Moderation = Literal["auto", "low"]
Profile = Literal["studio", "brainstorm", "support"]

PROFILES: tuple[Profile, ...] = ("studio", "brainstorm", "support")

MIN_VARIANTS, MAX_VARIANTS = 2, 8
"""How many images Variations and Brainstorm may ask for in one turn."""


class ImageOptions(BaseModel):
    """What a turn asks for: models and image options. The one list of these fields:
    ``Settings`` holds the app's defaults (``ATELIER_SIZE``...), ``SessionSettings`` a
    session's own choice."""

    mainline_model: str = "gpt-5.1"
    image_model: str = "gpt-image-2"
    size: str = "1024x1024"
    quality: Quality = "medium"
    output_format: OutputFormat = "png"
    output_compression: int | None = Field(default=None, ge=0, le=100)
    background: Background = "auto"
    partial_images: int = Field(default=2, ge=0, le=3)
    moderation: Moderation = "auto"
    store: bool = True
    # Variations and Brainstorm directions per turn; a turn whose quote is above
    # quote_above_usd waits for Go (None: never ask).
    variants: int = Field(default=3, ge=MIN_VARIANTS, le=MAX_VARIANTS)
    quote_above_usd: Decimal | None = Field(default=Decimal("0.25"), ge=0)

    @field_validator("size", mode="before")
    @classmethod
    def _api_form(cls, value: object) -> object:
        return normalize_size(value) if isinstance(value, str) else value

    def options(self) -> dict[str, Any]:
        """Just the image options, as keyword arguments for another ImageOptions."""
        return {name: getattr(self, name) for name in ImageOptions.model_fields}


class Settings(ImageOptions, BaseSettings):
    """Everything Atelier can be configured with. Build it once and pass it down."""

    model_config = SettingsConfigDict(
        env_prefix="ATELIER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- OpenAI connection (standard names). With no key, the embedded engine is used.
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url")
    )
    openai_org_id: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_ORG_ID", "openai_org_id")
    )

    # --- Where things live.
    data_dir: Path = Path(".atelier")
    prompts_dir: Path = Path(__file__).resolve().parent.parent / "prompts"
    help_dir: Path | None = None  # Support's help articles (*.md); default <prompts_dir>/help
    prices_file: Path | None = None  # a provider's own prices (prices.toml)
    # Past one machine: postgresql://user:password@host:port/db for the store (default: the
    # SQLite file in data_dir), s3://bucket[/prefix] for image files (default: data_dir;
    # endpoint and credentials from the standard AWS_* variables).
    database_url: str | None = None
    storage_url: str | None = None

    # --- Models and image defaults for new sessions: ImageOptions, plus support's model.
    support_mainline_model: str = "gpt-5-mini"

    # --- Request behaviour.
    request_timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    retry_max_wait_s: float = Field(default=20.0, ge=0)

    # --- Budgets (USD). None means no cap.
    session_budget_usd: Decimal | None = Decimal("5.00")
    support_session_budget_usd: Decimal | None = Decimal("0.50")
    user_daily_budget_usd: Decimal | None = Decimal("20.00")
    app_daily_budget_usd: Decimal | None = Decimal("200.00")
    budget_warn_fraction: Decimal = Decimal("0.8")

    # --- Public widget mode: anonymous visitors from these origins (comma separated), each
    # with its own daily budget and rate limits inside the app's daily budget.
    public_widget: bool = False
    widget_origins: str = ""
    visitor_daily_budget_usd: Decimal | None = Decimal("0.50")
    visitor_turns_per_minute: int = Field(default=3, ge=1)
    visitor_images_per_day: int = Field(default=10, ge=0)

    # --- Login: "name:password" pairs, comma separated, or a users file of such lines.
    users: str | None = None
    users_file: Path | None = None
    auth_secret: SecretStr | None = None

    # --- Embedded engine behaviour (only used when no API key is set).
    engine_fault: str | None = None  # e.g. "latency=1000,2000" for every request
    engine_blocklist: str = "gore,beheading,nsfw,explicit nudity"
    engine_db: Path | None = None  # defaults to <data_dir>/engine.db

    # --- Operations.
    lag_probe_interval_ms: int = Field(default=50, ge=5)
    log_level: str = "INFO"

    @field_validator("data_dir", "prompts_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def use_embedded_engine(self) -> bool:
        """True when no API key is configured: requests go to the in-process engine."""
        return self.openai_api_key is None or not self.openai_api_key.get_secret_value()

    @property
    def db_path(self) -> Path:
        """The single SQLite database file of the app."""
        return self.data_dir / "atelier.db"

    @property
    def images_dir(self) -> Path:
        """Content-addressed image files live here."""
        return self.data_dir / "images"

    @property
    def engine_db_path(self) -> Path:
        """Where the embedded engine keeps its stored responses (30-day store emulation)."""
        return self.engine_db or (self.data_dir / "engine.db")

    @property
    def blocklist(self) -> tuple[str, ...]:
        """Terms the embedded engine's moderation refuses."""
        return tuple(t.strip().lower() for t in self.engine_blocklist.split(",") if t.strip())

    def mainline_for(self, profile: Profile) -> str:
        """The mainline (text) model a profile uses by default."""
        return self.support_mainline_model if profile == "support" else self.mainline_model

    def session_budget_for(self, profile: Profile) -> Decimal | None:
        """The per-session budget a profile gets by default."""
        return self.support_session_budget_usd if profile == "support" else self.session_budget_usd
