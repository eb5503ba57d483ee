"""The store: records, migrations, the database and image files on disk."""
