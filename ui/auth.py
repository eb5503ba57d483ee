"""Who may sign in: password users from settings, or single-user mode when none are set.

Users come from ``ATELIER_USERS`` ("alice:pw,bob:pw") and/or ``ATELIER_USERS_FILE`` (one
``name:password`` or ``name:pbkdf2$sha256$<iterations>$<salt hex>$<hash hex>`` per line,
``#`` comments). Plain passwords are hashed when loaded, so only hashes stay in memory;
``python -m ui.auth`` prints a hashed line to paste into the users file.

Chainlit signs its session JWT with ``CHAINLIT_AUTH_SECRET``; ``ensure_auth_secret`` makes
one on first run (kept in ``<data_dir>/auth_secret``, mode 0600) so no manual step is needed.
This module registers no Chainlit callbacks: ``ui/app.py`` does.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import hmac
import os
import re
import secrets
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from agent.config import Settings
from agent.errors import InvalidSettings

PBKDF2_ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256
_SALT_BYTES = 16
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
AUTH_SECRET_ENV = "CHAINLIT_AUTH_SECRET"
AUTH_SECRET_FILE = "auth_secret"


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A PBKDF2-HMAC-SHA256 hash with its salt and work factor."""

    iterations: int
    salt: bytes
    digest: bytes

    def encode(self) -> str:
        """The ``pbkdf2$sha256$...`` form used in users files."""
        return f"pbkdf2$sha256${self.iterations}${self.salt.hex()}${self.digest.hex()}"

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        """Read the ``pbkdf2$sha256$<iterations>$<salt hex>$<hash hex>`` form."""
        parts = text.split("$")
        if len(parts) != 5 or parts[0] != "pbkdf2" or parts[1] != "sha256":
            raise ValueError("expected pbkdf2$sha256$<iterations>$<salt hex>$<hash hex>")
        try:
            iterations = int(parts[2])
            salt, digest = bytes.fromhex(parts[3]), bytes.fromhex(parts[4])
        except ValueError as exc:
            raise ValueError("pbkdf2 hash has a bad iteration count or hex field") from exc
        if iterations < 1 or not salt or len(digest) != 32:
            raise ValueError("pbkdf2 hash needs iterations >= 1, a salt and a 32-byte hash")
        return cls(iterations, salt, digest)

    def matches(self, password: str) -> bool:
        """Constant-time check of ``password`` against this hash."""
        candidate = _derive(password, self.salt, self.iterations)
        return hmac.compare_digest(candidate, self.digest)


def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


def hash_password(password: str, *, iterations: int = PBKDF2_ITERATIONS) -> str:
    """Hash ``password`` with a fresh salt, in the users-file form."""
    salt = secrets.token_bytes(_SALT_BYTES)
    return PasswordHash(iterations, salt, _derive(password, salt, iterations)).encode()


class UserTable:
    """Usernames and password hashes; checks a login in constant time."""

    def __init__(self, hashes: dict[str, PasswordHash], *, iterations: int = PBKDF2_ITERATIONS):
        self._hashes = dict(hashes)
        # Unknown names are checked against this, so they cost as long as known ones.
        self._decoy = PasswordHash(iterations, secrets.token_bytes(_SALT_BYTES), bytes(32))

    @property
    def usernames(self) -> frozenset[str]:
        """The configured usernames."""
        return frozenset(self._hashes)

    def __len__(self) -> int:
        return len(self._hashes)

    def verify(self, username: str, password: str) -> bool:
        """True if ``password`` is ``username``'s. Slow on purpose (PBKDF2): call off-loop."""
        stored = self._hashes.get(username)
        ok = (stored or self._decoy).matches(password)
        return ok and stored is not None

    async def averify(self, username: str, password: str) -> bool:
        """``verify`` in a worker thread, for Chainlit's async password callback."""
        return await asyncio.to_thread(self.verify, username, password)


def _parse_entry(entry: str, where: str, iterations: int) -> tuple[str, PasswordHash]:
    name, sep, secret = entry.partition(":")
    name = name.strip()
    if not sep or not secret:
        raise InvalidSettings(
            f"Users: {where} should be written name:password (or name:pbkdf2$...).",
            param="users",
        )
    if not _USERNAME.fullmatch(name):
        raise InvalidSettings(
            f"Users: {where} has a bad username; use 1-64 letters, digits or . _ @ + - "
            "starting with a letter or digit.",
            param="users",
        )
    if secret.startswith("pbkdf2$"):
        try:
            return name, PasswordHash.parse(secret.strip())
        except ValueError as exc:
            raise InvalidSettings(f"Users: {where}: {exc}.", param="users") from exc
    salt = secrets.token_bytes(_SALT_BYTES)
    return name, PasswordHash(iterations, salt, _derive(secret, salt, iterations))


def load_users(settings: Settings, *, iterations: int = PBKDF2_ITERATIONS) -> UserTable | None:
    """The configured users, or None in single-user mode (no users configured).

    Raises ``InvalidSettings`` for a malformed entry, a duplicate name, an unreadable users
    file or a configuration that names no user at all.
    """
    if not auth_enabled(settings):
        return None
    entries: list[tuple[str, str]] = []
    if settings.users:
        for index, entry in enumerate(settings.users.split(","), start=1):
            if entry.strip():
                entries.append((entry.strip(), f"entry {index} of ATELIER_USERS"))
    if settings.users_file is not None:
        try:
            text = settings.users_file.read_text("utf-8")
        except OSError as exc:
            raise InvalidSettings(
                f"Users file {settings.users_file} cannot be read ({exc.strerror}); "
                "fix ATELIER_USERS_FILE or create the file.",
                param="users_file",
            ) from exc
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if line and not line.startswith("#"):
                entries.append((line, f"line {number} of {settings.users_file.name}"))
    hashes: dict[str, PasswordHash] = {}
    for entry, where in entries:
        name, password_hash = _parse_entry(entry, where, iterations)
        if name in hashes:
            raise InvalidSettings(f"Users: {where} repeats the user {name!r}.", param="users")
        hashes[name] = password_hash
    if not hashes:
        raise InvalidSettings(
            "Login is configured but names no user: add name:password entries, or unset "
            "ATELIER_USERS and ATELIER_USERS_FILE for single-user mode.",
            param="users",
        )
    return UserTable(hashes, iterations=iterations)


def auth_enabled(settings: Settings) -> bool:
    """True when users are configured (password login); False means single-user mode."""
    return bool(settings.users and settings.users.strip()) or settings.users_file is not None


def ensure_auth_secret(settings: Settings, data_dir: Path) -> str:
    """The JWT secret Chainlit needs with login on; made once and kept if none is set.

    Order: ``CHAINLIT_AUTH_SECRET`` in the environment, then ``ATELIER_AUTH_SECRET``, then
    ``<data_dir>/auth_secret`` (created with mode 0600 if missing). The chosen secret is
    also put in ``CHAINLIT_AUTH_SECRET`` when that is unset, because Chainlit reads it there.
    """
    secret = os.environ.get(AUTH_SECRET_ENV) or ""
    if not secret and settings.auth_secret is not None:
        secret = settings.auth_secret.get_secret_value()
    if not secret:
        secret = _secret_from_file(Path(data_dir) / AUTH_SECRET_FILE)
    os.environ.setdefault(AUTH_SECRET_ENV, secret)
    return secret


def _secret_from_file(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        candidate = secrets.token_urlsafe(48)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".auth_secret-")  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(candidate + "\n")
            # link() fails if the file exists: when two processes start at once, one
            # secret wins and both read it back below.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    secret = path.read_text("utf-8").strip()
    if len(secret) < 32:
        raise InvalidSettings(
            f"{path} holds no usable secret (need 32+ characters): delete it to make a new "
            "one (everyone signs in again) or set CHAINLIT_AUTH_SECRET.",
            param="auth_secret",
        )
    return secret


PRIVATE_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")


def private_files(data_dir: Path) -> list[Path]:
    """Make the data dir's databases and secrets readable by their owner only (0600).

    The server sets its umask to 077, so what it creates is private already; this fixes
    files an older version (or another tool) created 0644. Returns the files changed.
    """
    changed: list[Path] = []
    root = Path(data_dir)
    if not root.is_dir():
        return changed
    for path in root.iterdir():
        private = path.name == AUTH_SECRET_FILE or path.name.endswith(PRIVATE_SUFFIXES)
        if private and path.is_file() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
            changed.append(path)
    if root.stat().st_mode & 0o077:
        root.chmod(0o700)
    return changed


def main(argv: list[str] | None = None) -> int:
    """``python -m ui.auth NAME``: print a ``NAME:pbkdf2$...`` users-file line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not _USERNAME.fullmatch(args[0]):
        print("usage: python -m ui.auth USERNAME  (then type the password)", file=sys.stderr)
        return 2
    password = getpass.getpass("password: ")
    if not password:
        print("empty password refused", file=sys.stderr)
        return 2
    print(f"{args[0]}:{hash_password(password)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
