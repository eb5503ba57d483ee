"""compose.yaml cannot be run here (no Docker engine); what can be checked, is.

It parses as YAML, every ATELIER_* variable it sets is a real setting, the app replicas get
the database, storage and shared auth secret they need, and its haproxy configuration is
accepted by the same haproxy the tests use (``haproxy -c``), with cookie stickiness.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from agent.config import Settings
from agent.ops.serve import STICKY_COOKIE, find_program
from agent.store.s3 import S3Config

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_compose_parses_and_names_every_part() -> None:
    compose = _compose()
    assert {"app", "balancer", "postgres", "minio", "bucket"} <= set(compose["services"])
    assert compose["services"]["app"]["deploy"]["replicas"] >= 2


def test_app_environment_uses_real_settings() -> None:
    env = _compose()["services"]["app"]["environment"]
    fields = set(Settings.model_fields)
    for name in env:
        if name.startswith("ATELIER_"):
            assert name.removeprefix("ATELIER_").lower() in fields, name
    assert env["ATELIER_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in env["ATELIER_DATABASE_URL"]
    config = S3Config.from_url(env["ATELIER_STORAGE_URL"], env)
    assert (config.bucket, config.endpoint) == ("atelier", "http://minio:9000")
    assert "CHAINLIT_AUTH_SECRET" in env  # one secret for every replica
    bucket = _compose()["services"]["bucket"]["entrypoint"][-1]
    assert f"local/{config.bucket}" in bucket


def test_balancer_config_is_valid_haproxy_with_sticky_cookies(tmp_path: Path) -> None:
    content = _compose()["configs"]["haproxy"]["content"]
    assert f"cookie {STICKY_COOKIE} insert" in content
    assert "option redispatch" in content
    path = tmp_path / "haproxy.cfg"
    path.write_text(content, encoding="utf-8")
    check = subprocess.run(
        [find_program("haproxy"), "-c", "-f", str(path)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_serve_writes_a_valid_sticky_haproxy_config(tmp_path: Path) -> None:
    from agent.ops.serve import haproxy_config

    content = haproxy_config("127.0.0.1", 8123, {"w1": 9001, "w2": 9002})
    assert "server w1 127.0.0.1:9001 cookie w1 check" in content
    assert "server w2 127.0.0.1:9002 cookie w2 check" in content
    path = tmp_path / "haproxy.cfg"
    path.write_text(content, encoding="utf-8")
    check = subprocess.run(
        [find_program("haproxy"), "-c", "-f", str(path)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
