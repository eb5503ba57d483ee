"""parse_edit_ops: instruction words become ordered edit operations with amounts."""

from __future__ import annotations

import pytest

from agent.engine.render import EditOp, parse_edit_ops


def kinds(text: str) -> list[str]:
    return [op.kind for op in parse_edit_ops(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("make it warmer", ["warmer"]),
        ("cooler please", ["cooler"]),
        ("brighter", ["brighter"]),
        ("a little darker", ["darker"]),
        ("black and white", ["grayscale"]),
        ("make it B&W", ["grayscale"]),
        ("grayscale", ["grayscale"]),
        ("monochrome version", ["grayscale"]),
        ("more contrast", ["contrast"]),
        ("punchier", ["contrast"]),
        ("softer", ["soften"]),
        ("blur the picture", ["soften"]),
        ("sharpen it", ["sharpen"]),
        ("crisper", ["sharpen"]),
        ("add a border", ["border"]),
        ("put it in a frame", ["border"]),
        ("remove the title", ["remove_text"]),
        ("remove text", ["remove_text"]),
        ("more saturated", ["saturate"]),
        ("less saturated", ["mute"]),
        ("muted colours", ["mute"]),
        ("make it wider", ["wider"]),
        ("make it taller", ["taller"]),
        ("make it square", ["square"]),
        ("vintage look", ["vintage"]),
        ("sepia", ["vintage"]),
    ],
)
def test_each_edit_word(text: str, expected: list[str]) -> None:
    assert kinds(text) == expected


def test_order_is_kept() -> None:
    assert kinds("add a border, then black and white, and finally warmer") == [
        "border",
        "grayscale",
        "warmer",
    ]


def test_amount_words() -> None:
    ops = parse_edit_ops("slightly warmer and much brighter, darker")
    assert ops == [
        EditOp("warmer", amount=0.5),
        EditOp("brighter", amount=1.5),
        EditOp("darker", amount=1.0),
    ]
    assert parse_edit_ops("a bit softer")[0].amount == 0.5
    assert parse_edit_ops("a lot more contrast")[0].amount == 1.5


def test_quoted_text_is_kept_verbatim() -> None:
    assert parse_edit_ops('add the tagline "Brewed in Oslo, Since 1998"') == [
        EditOp("add_text", text="Brewed in Oslo, Since 1998")
    ]
    assert parse_edit_ops("add a caption “Hello World”") == [EditOp("add_text", text="Hello World")]


def test_words_inside_quotes_are_not_edits() -> None:
    assert kinds('add text "Dark and Warm" and make it cooler') == ["add_text", "cooler"]


def test_resize_to_an_explicit_size() -> None:
    assert parse_edit_ops("resize to 1536x1024") == [EditOp("resize", size=(1536, 1024))]
    assert parse_edit_ops("make it 1024 x 1536 and brighter") == [
        EditOp("resize", size=(1024, 1536)),
        EditOp("brighter"),
    ]


@pytest.mark.parametrize(
    "text",
    ["a castle on a hill", "draw me a fox in the snow", "", "thanks!", "what does it cost?"],
)
def test_no_edit_words_means_no_ops(text: str) -> None:
    assert parse_edit_ops(text) == []
