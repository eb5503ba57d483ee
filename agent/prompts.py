"""System prompts: one markdown file per chat profile in prompts/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.config import PROFILES, Profile


@dataclass(frozen=True)
class PromptBook:
    """The instructions of every profile, read once at start-up."""

    instructions: dict[str, str]

    @classmethod
    def load(cls, prompts_dir: Path) -> PromptBook:
        """Read prompts/<profile>.md for every profile; a missing file is a clear error."""
        found: dict[str, str] = {}
        for profile in PROFILES:
            path = prompts_dir / f"{profile}.md"
            if not path.is_file():
                raise FileNotFoundError(
                    f"The system prompt {path} is missing: restore it from git, or point "
                    "ATELIER_PROMPTS_DIR at a folder holding studio.md, brainstorm.md and "
                    "support.md."
                )
            found[profile] = path.read_text(encoding="utf-8").strip()
        return cls(found)

    def for_profile(self, profile: Profile) -> str:
        """The instructions a profile sends with every request."""
        return self.instructions[profile]
