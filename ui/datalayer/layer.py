"""``SQLiteDataLayer``: Chainlit's persistence on our own database (SQLite or PostgreSQL).

Chainlit's SQLAlchemy layer loses steps on SQLite and its default layer needs its own
Postgres schema, so this is a ``BaseDataLayer`` on the store's neutral database interface
(the SQLite file by default, PostgreSQL with ``ATELIER_DATABASE_URL``; the name stays for
the callers), modelled on Chainlit's own
``ChainlitDataLayer`` (same upsert rules, same cursor pagination), plus read-only sharing
and ownership checks on every write. Element bytes go through the storage client (outside
the lock); rows keep the object key and the URL is resolved on read.
"""

from __future__ import annotations

import uuid

from chainlit.user import PersistedUser, User

from agent.store.database import Row
from ui.datalayer.core import dumps, loads, now_iso
from ui.datalayer.sharing import Sharing


class SQLiteDataLayer(Sharing):
    """Chainlit data layer on SQLite or PostgreSQL, with a storage client for element bytes."""

    @staticmethod
    def _user(row: Row) -> PersistedUser:
        return PersistedUser(
            id=row["id"],
            identifier=row["identifier"],
            display_name=row["display_name"],
            createdAt=row["created_at"],
            metadata=loads(row["metadata_json"], {}),
        )

    async def get_user(self, identifier: str) -> PersistedUser | None:
        """The persisted user with this identifier, or None."""
        async with self._read() as db:
            row = await self._one(db, "SELECT * FROM cl_users WHERE identifier = ?", (identifier,))
        return None if row is None else self._user(row)

    async def create_user(self, user: User) -> PersistedUser | None:
        """Create the user, or update the metadata of the one with the same identifier."""
        async with self._write() as db:
            await db.execute(
                """
                INSERT INTO cl_users (id, identifier, display_name, metadata_json, created_at)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (identifier) DO UPDATE SET
                    metadata_json = excluded.metadata_json,
                    display_name = COALESCE(excluded.display_name, cl_users.display_name)
                """,
                (
                    str(uuid.uuid4()),
                    user.identifier,
                    user.display_name,
                    dumps(user.metadata or {}),
                    now_iso(),
                ),
            )
            row = await self._one(
                db, "SELECT * FROM cl_users WHERE identifier = ?", (user.identifier,)
            )
        return None if row is None else self._user(row)

    async def token_version(self, identifier: str) -> int:
        """The user's current sign-in token version (0 if never raised)."""
        async with self._read() as db:
            row = await self._one(
                db, "SELECT version FROM cl_token_versions WHERE identifier = ?", (identifier,)
            )
        return 0 if row is None else int(row["version"])

    async def bump_token_version(self, identifier: str) -> int:
        """Raise the user's token version (sign-out): every older token stops working."""
        async with self._write() as db:
            await db.execute(
                """
                INSERT INTO cl_token_versions (identifier, version) VALUES (?, 1)
                ON CONFLICT (identifier) DO UPDATE SET version = cl_token_versions.version + 1
                """,
                (identifier,),
            )
            row = await self._one(
                db, "SELECT version FROM cl_token_versions WHERE identifier = ?", (identifier,)
            )
        return 0 if row is None else int(row["version"])

    async def build_debug_url(self) -> str:
        """No external debugger: empty, as Chainlit's own layer returns."""
        return ""
