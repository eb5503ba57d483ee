"""Bad values from users: never a crash, always a valid setting or a clear error.

Property-based (hypothesis) over the three ways a value gets in: an image_generation size or
tool option (``agent.images.spec``), a settings change (``SessionSettings.updated``), and the
command line (``agent.cli``: the parser and the ``price`` command).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.cli import build_parser, main
from agent.errors import InvalidSettings
from agent.images.spec import (
    IMAGE_MODEL_NAMES,
    MAX_EDGE,
    MAX_PIXELS,
    MIN_PIXELS,
    TOOL_OPTIONS,
    SpecError,
    validate_size,
    validate_tool,
)
from agent.session_settings import SessionSettings

FAST = settings(max_examples=150, deadline=None)
CANONICAL_SIZE = re.compile(r"^(auto|[1-9][0-9]*x[1-9][0-9]*)$")

# Strings shaped like sizes (digits around an x, with the odd space, sign, unicode digit)
# and plain junk.
_digits = st.integers(min_value=0, max_value=99999).map(str)
_odd_digits = st.sampled_from(["", "-16", "+16", "1e3", "١٠٢٤", "0x10", "00", " 1024", "1024 "])
size_strings = st.one_of(
    st.builds(
        lambda w, sep, h: f"{w}{sep}{h}",
        st.one_of(_digits, _odd_digits),
        st.sampled_from(["x", "X", "×", " x ", "*", ",", ""]),
        st.one_of(_digits, _odd_digits),
    ),
    st.sampled_from(["auto", "AUTO", "", " ", "0x0", "1024x", "x1024", "1024x1024x1024"]),
    st.text(max_size=20),
)
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
models = st.one_of(st.sampled_from([*IMAGE_MODEL_NAMES, "gpt-image-1", "dall-e-3"]), junk)


def _assert_clear(error: SpecError | InvalidSettings) -> None:
    message = error.message if isinstance(error, SpecError) else error.user_message
    assert isinstance(message, str) and len(message) > 15, message
    assert "Traceback" not in message


# --------------------------------------------------------------------------- sizes and tools


@FAST
@given(size=size_strings, model=st.sampled_from(IMAGE_MODEL_NAMES))
@example(size="0x0", model="gpt-image-2")
@example(size="0x1024", model="gpt-image-2")
def test_validate_size_accepts_only_legal_sizes_or_says_why(size: str, model: str) -> None:
    """Either (w, h) inside every gpt-image-2 rule, or a SpecError on ``size`` — no crash."""
    try:
        resolved = validate_size(model, size)
    except SpecError as error:
        assert error.param == "size"
        _assert_clear(error)
        return
    if resolved is None:
        assert size == "auto"
        return
    width, height = resolved
    assert width > 0 and height > 0
    if model.startswith("gpt-image-2"):
        assert width % 16 == 0 and height % 16 == 0
        assert max(width, height) <= MAX_EDGE
        assert max(width, height) <= 3 * min(width, height)
        assert MIN_PIXELS <= width * height <= MAX_PIXELS


@FAST
@given(size=size_strings)
@example(size=" 1024x1024")
@example(size="١٠٢٤x١٠٢٤")
@example(size="1024X1024")
def test_an_accepted_size_is_sent_in_the_api_form(size: str) -> None:
    """A size the settings accept must be what the API accepts: ``WIDTHxHEIGHT`` or ``auto``.

    SessionSettings sends ``size`` verbatim, so a padded, upper-case or non-ASCII-digit size
    that passes local validation reaches the API as written and fails there (a paid
    round trip and a confusing error) instead of being refused or normalised here.
    """
    try:
        chosen = SessionSettings().updated(size=size)
    except InvalidSettings as error:
        _assert_clear(error)
        return
    assert CANONICAL_SIZE.match(chosen.image_tool()["size"]), chosen.size


tool_dicts = st.dictionaries(
    st.sampled_from([*sorted(TOOL_OPTIONS - {"type"}), "unknown_option"]),
    st.one_of(
        junk,
        size_strings,
        st.sampled_from(["low", "medium", "high", "auto", "png", "jpeg", "webp", "transparent"]),
        st.integers(min_value=-5, max_value=105),
        models,
    ),
    max_size=6,
)


@FAST
@given(tool=tool_dicts)
@example(tool={"size": "0x0"})
def test_validate_tool_never_crashes(tool: dict[str, Any]) -> None:
    """Any tool dict: accepted, or a SpecError that names a real parameter."""
    try:
        validate_tool({"type": "image_generation", **tool})
    except SpecError as error:
        assert error.param in {*tool, "type", "model", "size"}, (error.param, tool)
        _assert_clear(error)


# --------------------------------------------------------------------------- settings changes

setting_changes = st.dictionaries(
    st.sampled_from(
        [
            "mainline_model",
            "image_model",
            "size",
            "quality",
            "output_format",
            "output_compression",
            "background",
            "partial_images",
            "moderation",
            "store",
            "nonsense",
        ]
    ),
    st.one_of(
        junk,
        size_strings,
        models,
        st.sampled_from(["low", "medium", "high", "auto", "xhigh", "max"]),
        st.sampled_from(["png", "jpeg", "webp", "gif"]),
        st.sampled_from(["auto", "opaque", "transparent"]),
        st.integers(min_value=-3, max_value=103),
    ),
    max_size=5,
)


@FAST
@given(changes=setting_changes)
@example(changes={"size": "0x0"})
@example(changes={"background": "transparent", "output_format": "jpeg"})
@example(changes={"image_model": "gpt-image-1.5", "size": "2048x2048"})
def test_settings_update_is_valid_or_a_clear_error(changes: dict[str, Any]) -> None:
    """``updated`` returns settings whose tool passes the API rules, or InvalidSettings."""
    before = SessionSettings()
    try:
        after = before.updated(**changes)
    except InvalidSettings as error:
        _assert_clear(error)
        assert before == SessionSettings()  # the old settings are untouched
        return
    validate_tool(after.image_tool())  # what will be sent is valid
    for key, value in changes.items():
        assert getattr(after, key) == value


# --------------------------------------------------------------------------- command line

cli_words = st.one_of(
    st.sampled_from(
        [
            "chat",
            "price",
            "bill",
            "export",
            "sessions",
            "engine",
            "--size",
            "--quality",
            "--model",
            "--partial-images",
            "--compression",
            "--port",
            "--format",
            "--profile",
            "-1",
            "99999999999999999999",
            "1024x1024",
            "auto",
            "high",
        ]
    ),
    st.text(max_size=8),
)


@FAST
@given(argv=st.lists(cli_words, max_size=6))
def test_parser_exits_cleanly_on_any_arguments(argv: list[str]) -> None:
    """argparse either parses or exits with status 2 and a usage message; nothing else."""
    parser = build_parser()
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as stop:
        assert stop.code in (0, 2)
        if stop.code == 2:
            assert "usage: atelier" in err.getvalue()
        return
    assert args.command in {"chat", "price", "bill", "export", "sessions", "engine", "serve"}


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The price command reads Settings from the environment: give it a private data dir."""
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    for name in ("ATELIER_PRICES_FILE", "ATELIER_IMAGE_MODEL", "ATELIER_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    model=st.one_of(st.sampled_from(IMAGE_MODEL_NAMES), st.text(max_size=10)),
    size=size_strings,
    quality=st.one_of(
        st.sampled_from(["low", "medium", "high", "auto", "xhigh", "max"]), st.text(max_size=6)
    ),
    partials=st.integers(min_value=-3, max_value=6),
)
@example(model="gpt-image-2", size="0x0", quality="low", partials=0)
@example(model="gpt-image-1", size="1024x1024", quality="low", partials=0)
def test_price_command_prints_a_price_or_a_clear_error(
    cli_env: Path, model: str, size: str, quality: str, partials: int
) -> None:
    """``atelier price``: exit 0 with a priced line, or exit 2 with one ``atelier:`` line."""
    argv = ["price", "--model", model, "--size", size, "--quality", quality]
    argv += ["--partial-images", str(partials)]
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as stop:  # argparse refusing e.g. a model that starts with "-"
        assert stop.code == 2 and "usage:" in err.getvalue()
        return
    if code == 0:
        assert "tokens" in out.getvalue() and "$" in out.getvalue()
        assert err.getvalue() == ""
    else:
        assert code == 2
        message = err.getvalue().strip()
        assert message.startswith("atelier: ") and len(message) > 20
        assert "Traceback" not in message
        assert out.getvalue() == ""
    assert not (cli_env / "data").exists() or not any((cli_env / "data").rglob("*.db"))
