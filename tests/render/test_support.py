"""Support answers from the owner's help articles (through the SDK), or points to a human."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai import AsyncOpenAI

from agent.engine import support_kb
from agent.prompts import HelpArticle, PromptBook, with_articles
from tests.engine.helpers import decode, image_items, tool
from tests.render.helpers import boxes_of

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


@pytest.fixture(scope="module")
def support() -> str:
    return PromptBook.load(PROMPTS).for_profile("support")


async def _ask(client: AsyncOpenAI, instructions: str, question: str) -> tuple[str, int, list]:
    response = await client.responses.create(
        model="gpt-5-mini", instructions=instructions, input=question, tools=[tool()]
    )
    images = image_items(response.model_dump())
    return response.output_text, len(images), images


@pytest.mark.parametrize(
    ("question", "article", "words"),
    [
        ("how do I reset my password?", "Reset your password", "Forgot password?"),
        ("I forgot my password", "Reset your password", "Send reset link"),
        ("how can I download all my images?", "Export and download your images", "/export"),
        ("how do I delete my account", "Delete your account or your data", "two working days"),
        ("how do I refine a picture?", "Refine an image", "Refine this"),
    ],
)
async def test_questions_are_answered_from_the_best_article(
    client: AsyncOpenAI, support: str, question: str, article: str, words: str
) -> None:
    text, count, _ = await _ask(client, support, question)
    assert text.startswith(f"From \u201c{article}\u201d"), text
    assert words in text
    assert count == 0
    assert "image studio" not in text


@pytest.mark.parametrize(
    "question", ["what's the capital of France?", "can you fix my printer driver?"]
)
async def test_nothing_matches_so_it_says_so_and_names_a_human(
    client: AsyncOpenAI, support: str, question: str
) -> None:
    text, count, _ = await _ask(client, support, question)
    assert "couldn't find that in our help articles" in text
    assert "support@atelier.example" in text
    assert count == 0


@pytest.mark.parametrize(
    ("question", "shown"),
    [("where is the export button?", "export"), ("show me what a mask looks like", "mask")],
)
async def test_a_picture_comes_when_it_helps(
    client: AsyncOpenAI, support: str, question: str, shown: str
) -> None:
    text, count, images = await _ask(client, support, question)
    assert count == 1
    assert shown in boxes_of(decode(images[0]["result"]))
    assert text.startswith("From \u201c")


async def test_the_owner_controls_the_knowledge_base(client: AsyncOpenAI) -> None:
    owner = with_articles(
        "You are the help assistant of Moonbakery.\nHuman help: crumbs@moonbakery.example",
        [HelpArticle("Opening hours", "We bake from 6:00 to 14:00, Tuesday to Sunday.")],
    )
    text, _, _ = await _ask(client, owner, "what are your opening hours?")
    assert "6:00 to 14:00" in text
    text, _, _ = await _ask(client, owner, "how do I reset my password?")
    assert "crumbs@moonbakery.example" in text


def test_ranking_prefers_title_words() -> None:
    articles = [
        support_kb.Article("Billing", "Invoices arrive monthly. Passwords are not billed."),
        support_kb.Article("Reset your password", "Click Forgot password."),
    ]
    ranked = support_kb.rank("reset password", articles)
    assert ranked[0][1].title == "Reset your password"


async def test_support_still_edits_its_own_picture(client: AsyncOpenAI, support: str) -> None:
    made = await client.responses.create(
        model="gpt-5-mini",
        instructions=support,
        input="draw a banner with a lighthouse for my shop",
        tools=[tool()],
    )
    assert len(image_items(made.model_dump())) == 1
    edited = await client.responses.create(
        model="gpt-5-mini",
        instructions=support,
        input="make the background cream",
        previous_response_id=made.id,
        tools=[tool()],
    )
    (item,) = image_items(edited.model_dump())
    assert item["action"] == "edit" and "made the background cream" in edited.output_text
