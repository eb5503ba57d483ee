"""A session's settings: which models, what images, and the tool definition they make."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.config import Background, Moderation, OutputFormat, Profile, Quality, Settings
from agent.errors import InvalidSettings
from agent.images.spec import SpecError, normalize_size, validate_tool


class SessionSettings(BaseModel):
    """What the next turn asks for. Changes apply from the next turn on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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

    @field_validator("size", mode="before")
    @classmethod
    def _api_form(cls, value: object) -> object:
        return normalize_size(value) if isinstance(value, str) else value

    @classmethod
    def defaults(cls, settings: Settings, profile: Profile = "studio") -> SessionSettings:
        """The settings a new session of ``profile`` starts with."""
        return cls(
            mainline_model=settings.mainline_for(profile),
            image_model=settings.image_model,
            size=settings.size,
            quality=settings.quality,
            output_format=settings.output_format,
            output_compression=settings.output_compression,
            background=settings.background,
            partial_images=settings.partial_images,
            moderation=settings.moderation,
            store=settings.store,
        )

    def image_tool(
        self, *, action: str | None = None, mask_url: str | None = None
    ) -> dict[str, Any]:
        """The ``image_generation`` tool definition these settings send."""
        tool: dict[str, Any] = {
            "type": "image_generation",
            "model": self.image_model,
            "size": self.size,
            "quality": self.quality,
            "output_format": self.output_format,
            "background": self.background,
            "partial_images": self.partial_images,
            "moderation": self.moderation,
        }
        if self.output_compression is not None and self.output_format != "png":
            tool["output_compression"] = self.output_compression
        if action:
            tool["action"] = action
        if mask_url:
            tool["input_image_mask"] = {"image_url": mask_url}
        return tool

    def check(self) -> SessionSettings:
        """Validate against the image model's rules; raise InvalidSettings saying what to change."""
        try:
            validate_tool(self.image_tool())
        except SpecError as exc:
            raise InvalidSettings(exc.message, param=exc.param) from exc
        return self

    def updated(self, **changes: Any) -> SessionSettings:
        """A validated copy with ``changes`` applied."""
        merged = {**self.model_dump(), **changes}
        try:
            candidate = SessionSettings(**merged)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise InvalidSettings(f"Invalid setting: {exc}") from exc
        return candidate.check()
