"""Chainlit's persistence on our database (SQLite or PostgreSQL): users, threads, steps, etc.

Split by what each module holds: ``core`` (connection, transactions, ownership checks),
``writer`` (who is writing), ``elements``, ``steps`` (and feedback), ``threads``,
``sharing``, ``layer`` (users and the ``SQLiteDataLayer`` class).
"""

from ui.datalayer.core import WriteRefused, normalize_timestamp, now_iso
from ui.datalayer.layer import SQLiteDataLayer
from ui.datalayer.writer import Writer, acting_as, current_writer

__all__ = [
    "SQLiteDataLayer",
    "WriteRefused",
    "Writer",
    "acting_as",
    "current_writer",
    "normalize_timestamp",
    "now_iso",
]
