"""The socket.io end-to-end tests use the root conftest's ``harness`` and ``data_dir``
fixtures; the harness itself lives in harness.py next to this file."""
