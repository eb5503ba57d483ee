"""The mask rules every front end shares."""

from __future__ import annotations

import pytest

from agent.errors import InvalidSettings
from agent.images.masks import check_mask, mask_index


def test_a_file_named_mask_is_the_mask() -> None:
    assert mask_index(["ref.png", "my-MASK.png"], "make it red", has_image=False) == 1


def test_saying_mask_makes_the_last_file_the_mask_when_there_is_something_to_edit() -> None:
    assert mask_index(["a.png", "b.png"], "use this mask", has_image=False) == 1
    assert mask_index(["a.png"], "use this mask", has_image=True) == 0
    assert mask_index(["a.png"], "use this mask", has_image=False) is None
    assert mask_index(["a.png"], "masking tape poster", has_image=True) is None
    assert mask_index([], "mask", has_image=True) is None


def test_a_mask_needs_an_image_of_its_size() -> None:
    check_mask((1024, 1024), (1024, 1024))
    with pytest.raises(InvalidSettings, match="make or pick an image first"):
        check_mask((1024, 1024), None)
    with pytest.raises(InvalidSettings, match="512x512") as info:
        check_mask((512, 512), (1024, 1024))
    assert info.value.param == "input_image_mask"
