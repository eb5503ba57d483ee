"""The request builder: what one turn sends to the Responses API."""

from __future__ import annotations

import pytest

from agent.session_settings import SessionSettings
from agent.turn.requests import TargetImage, build_request


def _build(**overrides: object) -> dict[str, object]:
    args: dict[str, object] = {
        "settings": SessionSettings(),
        "instructions": "be helpful",
        "text": "draw a lighthouse",
        "previous_response_id": "resp_prev",
    }
    args.update(overrides)
    return build_request(**args)  # type: ignore[arg-type]


def test_plain_turn_chains_on_the_previous_response() -> None:
    request = _build()
    assert request["previous_response_id"] == "resp_prev"
    assert request["input"] == [
        {"role": "user", "content": [{"type": "input_text", "text": "draw a lighthouse"}]}
    ]
    assert request["tool_choice"] == "auto"
    assert request["store"] is True
    tool = request["tools"][0]  # type: ignore[index]
    assert tool["type"] == "image_generation"
    assert tool["model"] == "gpt-image-2"
    assert "action" not in tool and "input_fidelity" not in tool


def test_targeting_an_image_references_it_by_id_with_its_reasoning_item() -> None:
    request = _build(target=TargetImage("ig_1", "rs_1"))
    assert "previous_response_id" not in request
    assert request["input"][1:] == [  # type: ignore[index]
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "image_generation_call", "id": "ig_1"},
    ]
    assert request["tools"][0]["action"] == "edit"  # type: ignore[index]


def test_without_stored_responses_the_target_goes_inline() -> None:
    settings = SessionSettings(store=False)
    request = _build(
        settings=settings, target=TargetImage("ig_1", None, "data:image/png;base64,AA")
    )
    assert request["store"] is False
    assert "previous_response_id" not in request
    (message,) = request["input"]  # type: ignore[misc]
    assert message["content"][-1] == {
        "type": "input_image",
        "image_url": "data:image/png;base64,AA",
        "detail": "high",
    }


def test_inline_target_requires_its_data() -> None:
    with pytest.raises(ValueError, match="data URL"):
        _build(settings=SessionSettings(store=False), target=TargetImage("ig_1"))


def test_uploads_and_mask() -> None:
    request = _build(image_urls=["data:image/png;base64,R1"], mask_url="data:m")
    content = request["input"][0]["content"]  # type: ignore[index]
    assert content[1]["image_url"] == "data:image/png;base64,R1"
    assert request["tools"][0]["input_image_mask"] == {"image_url": "data:m"}  # type: ignore[index]
    assert request["tool_choice"] == {"type": "image_generation"}


def test_compression_only_for_lossy_formats() -> None:
    png = _build(settings=SessionSettings(output_compression=50))
    webp = _build(settings=SessionSettings(output_format="webp", output_compression=50))
    assert "output_compression" not in png["tools"][0]  # type: ignore[index]
    assert webp["tools"][0]["output_compression"] == 50  # type: ignore[index]
