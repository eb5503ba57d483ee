"""Password users, single-user mode and the generated Chainlit auth secret."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.config import Settings
from agent.errors import InvalidSettings
from ui import auth
from ui.auth import (
    AUTH_SECRET_ENV,
    PasswordHash,
    UserTable,
    auth_enabled,
    ensure_auth_secret,
    hash_password,
    load_users,
)

FAST = 1_000  # PBKDF2 rounds for tests; one test below uses the real default


def make_settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", **values)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def _no_chainlit_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(AUTH_SECRET_ENV, raising=False)
    yield


def test_no_users_means_single_user_mode(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert not auth_enabled(settings)
    assert load_users(settings) is None
    assert not auth_enabled(make_settings(tmp_path, users="  "))


def test_users_from_settings_verify(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, users="alice:s3cret, bob:pa:ss:word")
    assert auth_enabled(settings)
    table = load_users(settings, iterations=FAST)
    assert table is not None
    assert table.usernames == {"alice", "bob"}
    assert table.verify("alice", "s3cret")
    assert table.verify("bob", "pa:ss:word")  # only the first ":" separates
    assert not table.verify("alice", "S3cret")
    assert not table.verify("alice", "")
    assert not table.verify("carol", "s3cret")
    assert not table.verify("bob", "s3cret")


def test_plain_passwords_are_not_kept(tmp_path: Path) -> None:
    table = load_users(make_settings(tmp_path, users="alice:very-distinct-pw"), iterations=FAST)
    assert table is not None
    stored = repr(vars(table)) + repr(table._hashes)
    assert "very-distinct-pw" not in stored
    assert b"very-distinct-pw".hex() not in stored


def test_users_file_with_hashes_and_comments(tmp_path: Path) -> None:
    users_file = tmp_path / "users.txt"
    users_file.write_text(
        "# team\n\n"
        f"carol:{hash_password('hashed pw', iterations=FAST)}\n"
        "dave:plain pw with spaces \n",
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, users="alice:a", users_file=users_file)
    table = load_users(settings, iterations=FAST)
    assert table is not None
    assert table.usernames == {"alice", "carol", "dave"}
    assert table.verify("carol", "hashed pw")
    assert not table.verify("carol", "hashed")
    assert table.verify("dave", "plain pw with spaces")  # the line is stripped


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("alice:a\nnocolon\n", "line 2"),
        ("alice:a\nalice:b\n", "repeats the user 'alice'"),
        (":pw\n", "bad username"),
        ("al ice:pw\n", "bad username"),
        ("alice:\n", "line 1"),
        ("alice:pbkdf2$sha256$x$00$00\n", "line 1"),
        ("alice:pbkdf2$md5$1$00$" + "00" * 32 + "\n", "line 1"),
        ("# only a comment\n", "names no user"),
    ],
)
def test_bad_users_file_says_what_to_fix(tmp_path: Path, content: str, message: str) -> None:
    users_file = tmp_path / "users.txt"
    users_file.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidSettings, match=message) as caught:
        load_users(make_settings(tmp_path, users_file=users_file), iterations=FAST)
    assert "pw" not in caught.value.user_message.replace("password", "")  # no secret echoed


def test_missing_users_file(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, users_file=tmp_path / "absent.txt")
    assert auth_enabled(settings)
    with pytest.raises(InvalidSettings, match="cannot be read"):
        load_users(settings)


def test_password_hash_round_trip_with_default_work_factor() -> None:
    encoded = hash_password("correct horse")
    parsed = PasswordHash.parse(encoded)
    assert parsed.iterations == auth.PBKDF2_ITERATIONS >= 600_000
    assert parsed.encode() == encoded
    assert parsed.matches("correct horse")
    assert not parsed.matches("correct horse ")
    assert hash_password("correct horse") != encoded  # fresh salt each time


async def test_async_verify() -> None:
    salt = b"0123456789abcdef"
    digest = auth._derive("pw", salt, FAST)
    table = UserTable({"alice": PasswordHash(FAST, salt, digest)}, iterations=FAST)
    assert await table.averify("alice", "pw")
    assert not await table.averify("alice", "nope")
    assert len(table) == 1


def test_secret_is_generated_once_private_and_exported(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    data_dir = tmp_path / "data"
    secret = ensure_auth_secret(settings, data_dir)
    path = data_dir / "auth_secret"
    assert len(secret) >= 32
    assert path.read_text("utf-8").strip() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.environ[AUTH_SECRET_ENV] == secret
    del os.environ[AUTH_SECRET_ENV]
    assert ensure_auth_secret(settings, data_dir) == secret  # same one next start
    assert [p.name for p in data_dir.iterdir()] == ["auth_secret"]  # no temp files left


def test_secret_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configured = "from-settings-" + "y" * 40
    settings = make_settings(tmp_path, auth_secret=configured)
    assert ensure_auth_secret(settings, tmp_path / "data") == configured
    assert not (tmp_path / "data" / "auth_secret").exists()
    monkeypatch.setenv(AUTH_SECRET_ENV, "from-env-" + "z" * 40)
    assert ensure_auth_secret(settings, tmp_path / "data") == "from-env-" + "z" * 40


def test_secret_file_permissions_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "auth_secret"
    path.write_text("s" * 48 + "\n", encoding="utf-8")
    path.chmod(0o644)
    assert ensure_auth_secret(make_settings(tmp_path), tmp_path) == "s" * 48
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_unusable_secret_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "auth_secret").write_text("short", encoding="utf-8")
    with pytest.raises(InvalidSettings, match="delete it"):
        ensure_auth_secret(make_settings(tmp_path), tmp_path)


def test_concurrent_first_starts_agree_on_one_secret(tmp_path: Path) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        results.append(auth._secret_from_file(tmp_path / "auth_secret"))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert len(set(results)) == 1


def test_hash_command_prints_a_loadable_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: "typed pw")
    assert auth.main(["erin"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("erin:pbkdf2$sha256$")
    users_file = tmp_path / "users.txt"
    users_file.write_text(line + "\n", encoding="utf-8")
    table = load_users(make_settings(tmp_path, users_file=users_file), iterations=FAST)
    assert table is not None and table.verify("erin", "typed pw")
    assert auth.main([]) == 2
    assert auth.main(["bad name"]) == 2
