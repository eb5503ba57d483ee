"""build_client: embedded engine without a key, the real client with one."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from agent.config import Settings
from agent.engine import Engine, EngineConfig
from agent.turn.client import EMBEDDED_BASE_URL, build_client


async def test_embedded_client_talks_to_the_engine(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, engine_blocklist="gore")
    assert settings.use_embedded_engine
    config = EngineConfig.from_settings(settings)
    assert config.db_path == tmp_path / "engine.db" and config.blocklist == ("gore",)
    engine = Engine(config)
    client = build_client(settings, engine)
    try:
        assert str(client.base_url).rstrip("/") == EMBEDDED_BASE_URL
        assert client.max_retries == 0
        response = await client.responses.create(model="gpt-5.1", input="hello")
        assert response.status == "completed"
    finally:
        await client.close()
        await engine.aclose()
    assert (tmp_path / "engine.db").exists()


async def test_keyed_client_is_the_real_one(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        openai_api_key=SecretStr("sk-test"),
        openai_base_url="https://example.invalid/v1",
        openai_org_id="org-1",
        request_timeout_s=42,
    )
    client = build_client(settings)
    try:
        assert str(client.base_url).startswith("https://example.invalid/v1")
        assert client.api_key == "sk-test" and client.organization == "org-1"
        assert client.max_retries == 0 and client.timeout == 42
    finally:
        await client.close()
