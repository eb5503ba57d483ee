"""Settings, stop, the Copilot widget's profile and the metrics route, on one real server."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

ENGINE_ENV = {"ATELIER_ENGINE_FAULT": "latency=300,600", "ATELIER_PARTIAL_IMAGES": "3"}


def _settings(**changes: Any) -> dict[str, Any]:
    """What the settings panel sends: every widget's value."""
    values: dict[str, Any] = {
        "image_model": "gpt-image-2",
        "size": "1024x1024",
        "custom_size": "",
        "quality": "medium",
        "output_format": "png",
        "output_compression": 100,
        "background": "auto",
        "partial_images": 3,
        "moderation": "auto",
        "mainline_model": "gpt-5.1",
    }
    values.update(changes)
    return values


async def test_settings_stop_copilot_and_metrics(harness: ModuleType, data_dir: Path) -> None:
    async with harness.run_server(data_dir, ENGINE_ENV) as server:
        client = harness.Client(server)
        copilot = harness.Client(server, client_type="copilot")
        try:
            await client.connect(profile="Studio")
            await client.event("chat_settings", since=0)

            # A size that breaks the rules is refused, with what to change; nothing applies.
            client.mark = len(client.recorder.events)
            await client.sio.emit("chat_settings_change", _settings(custom_size="1000x1000"))
            refused = await client.message("Settings not changed")
            assert "16" in refused["output"]

            # A valid change applies from the next turn.
            await client.sio.emit("chat_settings_change", _settings(quality="low"))
            await client.event("toast")
            await client.send("A lighthouse poster at dusk")
            await client.message("1024x1024 · low")
            await client.message("This turn $")

            # Stop mid-image: the turn ends, says so, and is still on the bill.
            mark = await client.send("A poster of a storm rolling over the lighthouse")
            await client.recorder.wait_for(
                lambda name, data: (
                    name == "element" and str(data.get("name", "")).startswith("partial-")
                ),
                since=mark,
            )
            await client.sio.emit("stop")
            stopped = await client.message("Images already finished are kept")
            # Stop says what the stopped turn cost, and the session total the bill then shows.
            spent = re.search(r"Spent on this turn: \$([\d.]+)", stopped["output"])
            total = re.search(r"session \$([\d.]+)", stopped["output"])
            assert spent and total, stopped["output"]
            await client.send("/bill")
            bill = await client.message("Session bill")
            assert "2 turn(s)" in bill["output"]
            assert f"Session total ${total.group(1)}**" in bill["output"], bill["output"]

            # Exports and the original file arrive as downloadable elements.
            for fmt in ("csv", "json", "zip"):
                _, export = await client.recorder.wait_for(
                    lambda name, data, fmt=fmt: (
                        name == "action"
                        and data["name"] == "export"
                        and data["payload"] == {"format": fmt}
                    )
                )
                mark, _ = await client.call_action(export)
                await client.recorder.wait_for(
                    lambda name, data, fmt=fmt: (
                        name == "element"
                        and data.get("type") == "file"
                        and str(data.get("name", "")).endswith(f".{fmt}")
                    ),
                    since=mark,
                )
            mark, _ = await client.call_action(client.button("download"))
            _, original = await client.recorder.wait_for(
                lambda name, data: name == "element" and data.get("type") == "file",
                since=mark,
            )
            assert original["name"].startswith("atelier-") and original["name"].endswith(".png")

            # The Copilot widget always gets the Support profile and its smaller budget.
            await copilot.connect(profile="Studio")
            await copilot.message("Atelier help assistant", since=0)
            await copilot.send("How do I refine an image?")
            line = await copilot.message("This turn $")
            assert line["output"].endswith("of $0.50"), line["output"]

            metrics = (await client.http.get("/atelier/metrics")).json()
            assert metrics["sessions"] >= 2
            assert metrics["lag_samples"] > 0
            assert metrics["loop_lag_p99_ms"] >= 0
            assert metrics["rss_mb"] > 0
        finally:
            await client.close()
            await copilot.close()
