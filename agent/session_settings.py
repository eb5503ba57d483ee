"""A session's settings: which models, what images, and the tool definition they make."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from agent.config import ImageOptions, Profile, Settings
from agent.errors import InvalidSettings
from agent.images.spec import SpecError, validate_tool


class SessionSettings(ImageOptions):
    """What the next turn asks for (the fields are ``ImageOptions``'). Changes apply from the
    next turn on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def defaults(cls, settings: Settings, profile: Profile = "studio") -> SessionSettings:
        """The settings a new session of ``profile`` starts with."""
        options = {**settings.options(), "mainline_model": settings.mainline_for(profile)}
        return cls.model_validate(options)

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
