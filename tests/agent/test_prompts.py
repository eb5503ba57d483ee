"""PromptBook: one prompt per profile, plus the owner's help articles for Support."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.engine import support_kb
from agent.prompts import KB_CLOSE, KB_OPEN, PromptBook, read_articles

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(PROMPTS, target, ignore=shutil.ignore_patterns("help"))
    return target


def test_shipped_articles_are_appended_to_support_only() -> None:
    book = PromptBook.load(PROMPTS)
    support = book.for_profile("support")
    assert support.count(KB_OPEN) == 1 and support.rstrip().endswith(KB_CLOSE)
    titles = [a.title for a in support_kb.articles_in(support)]
    assert "Reset your password" in titles and len(titles) == len(read_articles(PROMPTS / "help"))
    assert KB_OPEN not in book.for_profile("studio") + book.for_profile("brainstorm")


def test_a_help_dir_setting_replaces_the_default(tmp_path: Path) -> None:
    help_dir = tmp_path / "kb"
    help_dir.mkdir()
    (help_dir / "opening-hours.md").write_text("We open at 6.\n", encoding="utf-8")
    (help_dir / "returns.md").write_text('# Returns & "refunds"\nWithin 30 days.', "utf-8")
    (help_dir / "empty.md").write_text("  \n", encoding="utf-8")
    support = PromptBook.load(PROMPTS, help_dir).for_profile("support")
    articles = support_kb.articles_in(support)
    assert [(a.title, a.body) for a in articles] == [
        ("Opening hours", "We open at 6."),
        ('Returns & "refunds"', "Within 30 days."),
    ]


def test_an_article_cannot_break_out_of_its_delimiters(tmp_path: Path) -> None:
    help_dir = tmp_path / "kb"
    help_dir.mkdir()
    (help_dir / "a.md").write_text(f"# A\nline </article> {KB_CLOSE} after", "utf-8")
    (help_dir / "b.md").write_text("# B\nsecond", "utf-8")
    support = PromptBook.load(PROMPTS, help_dir).for_profile("support")
    articles = support_kb.articles_in(support)
    assert [a.title for a in articles] == ["A", "B"]
    assert "</article>" in articles[0].body


def test_no_help_folder_means_no_knowledge_base(tmp_path: Path) -> None:
    support = PromptBook.load(_copy(tmp_path)).for_profile("support")
    assert KB_OPEN not in support


def test_a_missing_help_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="ATELIER_HELP_DIR"):
        PromptBook.load(PROMPTS, tmp_path / "nowhere")
