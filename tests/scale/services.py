"""Real services for the scale-out tests, started by the tests themselves on 127.0.0.1.

- PostgreSQL: Debian's server (installed by .ci/system-deps.sh). ``initdb`` into a temporary
  folder, ``pg_ctl start`` on a free port with the unix socket inside that folder, trust auth
  for a local "atelier" role, fsync off (a throwaway cluster). PostgreSQL refuses to run as
  root, so as root the cluster belongs to Debian's ``postgres`` account (``runuser``).
- S3: moto's ThreadedMotoServer (moto[server] from PyPI) in a thread of the test process on
  a free port. Its limits: state lives in memory and dies with the process; it does not check
  SigV4 signatures (tests/scale/test_s3.py checks ours against botocore's signer instead);
  presigned URLs are accepted without checking their expiry; no real durability or
  consistency model. Good enough for the object protocol (PUT/GET/HEAD/DELETE, 404s).

Loaded by path (``load_services()`` in the conftests), like tests/e2e/harness.py.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_USER = "atelier"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pg_bin(name: str) -> str:
    """A PostgreSQL server program: Debian keeps them under /usr/lib/postgresql/<v>/bin."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: run .ci/system-deps.sh (installs postgresql).")
    return path


@dataclass(frozen=True)
class Postgres:
    """A running throwaway cluster."""

    root: Path
    port: int
    run_as: str | None

    def url(self, database: str = "postgres") -> str:
        """A connection URL for ``database`` over TCP on 127.0.0.1."""
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"


def _as_owner(argv: list[str], run_as: str | None) -> list[str]:
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", run_as, "--", *argv] if run_as else argv


@contextmanager
def postgres_cluster() -> Iterator[Postgres]:
    """initdb + pg_ctl start on a free port; stopped and removed afterwards."""
    run_as = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="atelier-pg-"))
    if run_as:
        owner = pwd.getpwnam(run_as)
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data = root / "data"
    subprocess.run(
        _as_owner(
            [pg_bin("initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
             "--no-sync", "--no-instructions"],
            run_as,
        ),
        check=True, capture_output=True, cwd=root,
    )  # fmt: skip
    port = free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_owner(
            [pg_bin("pg_ctl"), "start", "-D", str(data), "-w", "-t", "60", "-o", options,
             "-l", str(root / "server.log")],
            run_as,
        ),
        check=True, capture_output=True, cwd=root,
    )  # fmt: skip
    try:
        yield Postgres(root=root, port=port, run_as=run_as)
    finally:
        subprocess.run(
            _as_owner([pg_bin("pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w"], run_as),
            check=False, capture_output=True, cwd=root,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def create_database(cluster: Postgres, name: str) -> str:
    """A fresh empty database in ``cluster``; returns its URL."""
    psql = pg_bin("psql")
    subprocess.run(
        [psql, "-h", "127.0.0.1", "-p", str(cluster.port), "-U", PG_USER, "-d", "postgres",
         "-v", "ON_ERROR_STOP=1", "-q", "-c", f'CREATE DATABASE "{name}" TEMPLATE template0'],
        check=True, capture_output=True,
    )  # fmt: skip
    return cluster.url(name)


@dataclass(frozen=True)
class S3Server:
    """A running S3-compatible endpoint."""

    endpoint: str

    def env(self, bucket: str, prefix: str = "") -> dict[str, str]:
        """The variables that point Atelier at ``bucket`` on this endpoint."""
        return {
            "ATELIER_STORAGE_URL": f"s3://{bucket}/{prefix}".rstrip("/"),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's threaded server on a free 127.0.0.1 port; stopped afterwards."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(endpoint=f"http://{host}:{port}")
    finally:
        server.stop()
