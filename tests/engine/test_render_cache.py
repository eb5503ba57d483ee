"""The engine's render cache: same inputs, same bytes, rendered once; bounded memory."""

from __future__ import annotations

from openai import AsyncOpenAI
from PIL import Image

from agent.engine import Engine
from agent.engine.render_cache import RenderCache, Rendered, render_key

TOOL = {"type": "image_generation", "size": "1024x1024", "partial_images": 2}


def _key(**changes: object) -> str:
    args: dict[str, object] = {
        "action": "generate",
        "prompt": "a lighthouse",
        "ops": (),
        "images": [None],
        "width": 1024,
        "height": 1024,
        "background": "auto",
        "output_format": "png",
        "compression": None,
        "partials": 2,
    }
    args.update(changes)
    return render_key(**args)  # type: ignore[arg-type]


def test_every_input_that_decides_the_pixels_is_in_the_key() -> None:
    base = _key()
    red = Image.new("RGB", (8, 8), (255, 0, 0))
    blue = Image.new("RGB", (8, 8), (0, 0, 255))
    variants = [
        _key(prompt="a mountain"),
        _key(ops=("warmer",)),
        _key(images=[red]),
        _key(width=1536),
        _key(background="transparent"),
        _key(output_format="webp"),
        _key(compression=50),
        _key(partials=1),
    ]
    assert base == _key()
    assert len({base, *variants}) == len(variants) + 1
    assert _key(images=[red]) != _key(images=[blue])


def test_the_cache_is_bounded_by_bytes_and_least_recently_used() -> None:
    cache = RenderCache(max_bytes=10)
    cache.put("a", Rendered("aaaa", ()))
    cache.put("b", Rendered("bbbb", ()))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("c", Rendered("cccc", ()))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert cache.size_bytes == 8
    cache.put("huge", Rendered("x" * 11, ()))
    assert cache.get("huge") is None


async def test_a_repeated_request_is_served_from_the_cache(
    engine: Engine, client: AsyncOpenAI
) -> None:
    async def image_bytes() -> tuple[str, list[str]]:
        stream = await client.responses.create(
            model="gpt-4.1", input="draw a lighthouse poster", tools=[TOOL], stream=True
        )
        partials, final = [], ""
        async for event in stream:
            if event.type == "response.image_generation_call.partial_image":
                partials.append(event.partial_image_b64)
            if (
                event.type == "response.output_item.done"
                and event.item.type == "image_generation_call"
            ):
                final = event.item.result or ""
        return final, partials

    first = await image_bytes()
    assert (engine.renders.hits, engine.renders.misses) == (0, 1)
    second = await image_bytes()
    assert (engine.renders.hits, engine.renders.misses) == (1, 1)
    assert first == second and len(first[1]) == 2 and first[0]
