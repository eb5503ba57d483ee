"""System prompts: one markdown file per chat profile in prompts/, plus Support's help articles.

The site owner's knowledge base is a folder of markdown help articles (``ATELIER_HELP_DIR``,
by default ``prompts/help``). They are appended to the support instructions between
``<help_articles>`` tags, each as ``<article title="...">``, so the real model and the
embedded engine answer from the same text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from agent.config import PROFILES, Profile

KB_OPEN = "<help_articles>"
KB_CLOSE = "</help_articles>"
KB_PREAMBLE = (
    "Help articles from the site owner follow. Answer from them; quote the steps they give. "
    "If none covers the question, say so and point the customer to the human contact above."
)


@dataclass(frozen=True)
class HelpArticle:
    """One help article: its title (first heading, else the file name) and its text."""

    title: str
    body: str


@dataclass(frozen=True)
class PromptBook:
    """The instructions of every profile, read once at start-up."""

    instructions: dict[str, str]

    @classmethod
    def load(cls, prompts_dir: Path, help_dir: Path | None = None) -> PromptBook:
        """Read prompts/<profile>.md for every profile; a missing file is a clear error.

        Help articles come from ``help_dir`` (default: ``prompts_dir/help`` when it exists);
        a ``help_dir`` given but missing is a clear error too.
        """
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
        if help_dir is not None and not help_dir.is_dir():
            raise FileNotFoundError(
                f"The help articles folder {help_dir} does not exist: create it with one .md "
                "file per article, or unset ATELIER_HELP_DIR."
            )
        articles = read_articles(help_dir or prompts_dir / "help")
        if articles:
            found["support"] = with_articles(found["support"], articles)
        return cls(found)

    def for_profile(self, profile: Profile) -> str:
        """The instructions a profile sends with every request."""
        return self.instructions[profile]


def read_articles(folder: Path) -> list[HelpArticle]:
    """Every ``*.md`` article in ``folder``, sorted by file name ([] when there is none)."""
    if not folder.is_dir():
        return []
    articles = []
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            continue
        first, _, rest = text.partition("\n")
        if first.startswith("#"):
            title, body = first.lstrip("#").strip(), rest.strip()
        else:
            title, body = path.stem.replace("-", " ").replace("_", " ").capitalize(), text
        articles.append(HelpArticle(title, body))
    return articles


def with_articles(instructions: str, articles: list[HelpArticle]) -> str:
    """``instructions`` followed by the delimited articles."""
    parts = [instructions, "", KB_OPEN, KB_PREAMBLE]
    for article in articles:
        # The body is the owner's text; only the closing tags could break the delimiting.
        body = article.body.replace("</article>", "<\\/article>").replace(KB_CLOSE, "")
        parts.append(f'<article title="{html.escape(article.title, quote=True)}">')
        parts.append(body)
        parts.append("</article>")
    parts.append(KB_CLOSE)
    return "\n".join(parts)
