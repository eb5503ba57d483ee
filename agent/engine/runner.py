"""One response, start to finish: resolve its context, then produce its stream events.

``prepare`` does everything that can fail with a 400 (ids, images, masks, policy) before a
single byte is sent; ``events`` then yields the Responses API stream events in order and
stores the response (when ``store`` is true) right before ``response.completed``.

All Pillow work, base64 and big JSON runs in worker threads: the engine shares the app's
event loop.
"""

from __future__ import annotations

import asyncio
import binascii
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from agent.engine import picks, policy, render, textgen, wire
from agent.engine.faults import FaultPlan
from agent.engine.render_cache import RenderCache, Rendered, render_key
from agent.engine.request import ApiError, CreateRequest, bad_request
from agent.engine.state import NewResponse, ResponseStore, StoredResponse
from agent.images import b64
from agent.images.spec import (
    PARTIAL_IMAGE_TOKENS,
    auto_size_for,
    image_output_tokens,
    parse_size,
)

JsonDict = dict[str, Any]

_NOT_PERSISTED = (
    "Item with id '{id}' not found. Items are not persisted when `store` is set to false. "
    "Try again with `store` set to true, or remove this item from your input."
)
_MISSING_REASONING = (
    "Item '{ig}' of type 'image_generation_call' was provided without its required "
    "'reasoning' item: '{rs}'."
)


class StreamCut(Exception):
    """The ``cut_stream`` fault: the connection must drop now."""


@dataclass
class SourceImage:
    """The image in context: what edits start from."""

    image: Image.Image
    prompt: str | None


@dataclass
class PreparedTurn:
    """A validated request with its context resolved; nothing has been sent yet."""

    request: CreateRequest
    response_id: str
    created_at: float
    started: float  # loop time when the request arrived (latency faults count from here)
    user_text: str
    plan: policy.Plan
    source: SourceImage | None
    references: list[Image.Image]
    mask: Image.Image | None
    input_tokens: int
    cached_tokens: int
    chained_tokens: int
    current_tokens: int
    chain_ids: list[str] = field(default_factory=list)


@dataclass
class _ImageOutcome:
    item: JsonDict
    partials: int = 0
    text_tokens: int = 0
    image_tokens: int = 0
    output_tokens: int = 0


class TurnRunner:
    """Runs responses against a store, with the engine's moderation blocklist."""

    def __init__(
        self, store: ResponseStore, blocklist: tuple[str, ...], renders: RenderCache | None = None
    ) -> None:
        self._store = store
        self._blocklist = blocklist
        self._renders = renders if renders is not None else RenderCache()

    async def prepare(self, request: CreateRequest, started: float) -> PreparedTurn:
        """Resolve ids, images and the policy's plan; raises ApiError (400) on bad input."""
        chain: list[StoredResponse] = []
        if request.previous_response_id:
            chain = await self._store.chain(request.previous_response_id)
            if not chain:
                raise bad_request(
                    f"Previous response with id '{request.previous_response_id}' not found.",
                    "previous_response_id",
                    "previous_response_not_found",
                )
        chain_ids = [r.id for r in chain]
        explicit = await self._explicit_image(request, chain_ids)
        user_text, current_images = _current_message(request.input)
        uploads = await asyncio.gather(*(_decode_url(u, "input") for u in current_images))
        source = explicit
        references = list(uploads)
        if source is None and references:
            source = SourceImage(references.pop(0), None)
        picked: list[tuple[int, str, str | None]] = []
        if source is None and chain_ids:
            picked = await picks.picked(self._store, chain_ids, user_text)
            for _, result, prompt in picked:
                image = await _decode_b64(result, "previous_response_id")
                if source is None:
                    source = SourceImage(image, prompt)
                else:
                    references.append(image)
        if source is None and chain_ids:
            source = await self._chain_image(chain_ids)
        mask = await self._mask(request)
        tool = request.tool or {}
        try:
            plan = policy.decide(
                policy.TurnInput(
                    user_text=user_text,
                    instructions=request.instructions,
                    has_tool=request.tool is not None,
                    tool_choice=request.tool_choice,
                    tool_action=str(tool.get("action", "auto")),
                    context_image=source is not None,
                    context_prompt=source.prompt if source else None,
                    blocklist=self._blocklist,
                    context_scene=render.scene_of(source.image) if source else None,
                    partner_scene=render.scene_of(references[0]) if references else None,
                    picked=tuple(number for number, _, _ in picked),
                    context_size=source.image.size if source else None,
                )
            )
        except policy.PolicyError as exc:
            raise bad_request(exc.message, exc.param, "invalid_value") from exc
        current = _input_tokens(request.input)
        chained = chain[0].chain_tokens if chain else 0
        input_tokens = textgen.approx_tokens(request.instructions or "") + chained + current
        cached = 0
        if chain and chain[0].instructions == request.instructions:
            reusable = min(chain[0].prompt_tokens, input_tokens)
            cached = reusable // 128 * 128 if reusable >= 1024 else 0
        return PreparedTurn(
            request=request,
            response_id=wire.new_id("resp"),
            created_at=time.time(),
            started=started,
            user_text=user_text,
            plan=plan,
            source=source,
            references=references,
            mask=mask,
            input_tokens=input_tokens,
            cached_tokens=cached,
            chained_tokens=chained,
            current_tokens=current,
            chain_ids=chain_ids,
        )

    async def _explicit_image(
        self, request: CreateRequest, chain_ids: list[str]
    ) -> SourceImage | None:
        """Check every referenced item; return the last referenced image, decoded."""
        replayed = {i["id"] for i in request.input if i["type"] == "reasoning"}
        source: SourceImage | None = None
        for item in request.input:
            kind, item_id = item["type"], item.get("id")
            if kind == "message" or not isinstance(item_id, str):
                continue
            if kind == "image_generation_call" and "result" in item:
                image = await _decode_b64(item["result"], "input")
                source = SourceImage(image, item.get("revised_prompt"))
                continue
            if kind == "reasoning" and "encrypted_content" in item:
                continue
            stored = await self._store.item(item_id)
            if stored is None:
                raise bad_request(_NOT_PERSISTED.format(id=item_id), "input")
            if stored.type != "image_generation_call":
                continue
            if (
                stored.reasoning_id
                and stored.reasoning_id not in replayed
                and stored.response_id not in chain_ids
            ):
                raise bad_request(
                    _MISSING_REASONING.format(ig=item_id, rs=stored.reasoning_id), "input"
                )
            result = await self._store.result(item_id)
            if result is None:
                raise bad_request(
                    f"Item '{item_id}' has no image: that image generation call failed. "
                    "Remove it from your input.",
                    "input",
                )
            source = SourceImage(await _decode_b64(result, "input"), stored.prompt)
        return source

    async def _chain_image(self, chain_ids: list[str]) -> SourceImage | None:
        """The latest image in the chain: generated, else uploaded; newest response first."""
        for response_id in chain_ids:
            stored = await self._store.latest_image([response_id])
            if stored is not None:
                result = await self._store.result(stored.id)
                if result is not None:
                    return SourceImage(
                        await _decode_b64(result, "previous_response_id"), stored.prompt
                    )
            _, urls = _current_message(await self._store.inputs(response_id))
            if urls:
                return SourceImage(await _decode_url(urls[-1], "previous_response_id"), None)
        return None

    async def _mask(self, request: CreateRequest) -> Image.Image | None:
        mask = (request.tool or {}).get("input_image_mask")
        if not mask:
            return None
        url = mask.get("image_url")
        if not isinstance(url, str):
            raise bad_request(
                "The embedded engine has no Files API: send the mask as a PNG data URL in "
                "input_image_mask.image_url.",
                "tools[0].input_image_mask.file_id",
                "invalid_value",
            )
        if not url.startswith("data:image/") or ";base64," not in url:
            raise bad_request(
                "input_image_mask.image_url must be a base64 PNG data URL "
                "(data:image/png;base64,...).",
                "tools[0].input_image_mask.image_url",
                "invalid_image_url",
            )
        return await _decode_url(url, "tools[0].input_image_mask.image_url")

    async def events(self, turn: PreparedTurn, faults: FaultPlan) -> AsyncGenerator[JsonDict, None]:
        """Yield the stream events of the response; store it before ``response.completed``.

        Raises StreamCut (after the first partial image) when the cut_stream fault is on.
        """
        request = turn.request
        seq = wire.EventSequence()
        echo = request.echo
        header = wire.response_payload(
            response_id=turn.response_id,
            created_at=turn.created_at,
            model=request.model,
            status="in_progress",
            output=[],
            request=echo,
        )
        yield seq.event("response.created", response=header)
        yield seq.event("response.in_progress", response=header)
        output: list[JsonDict] = []
        if request.is_reasoning_model:
            item = wire.reasoning_item(wire.new_id("rs"))
            yield seq.event("response.output_item.added", output_index=0, item=item)
            yield seq.event("response.output_item.done", output_index=0, item=item)
            output.append(item)
        outcomes: list[_ImageOutcome] = []
        made = 0
        for plan in turn.plan.images:
            index = len(output)
            outcome = _ImageOutcome(item={})
            async for event in self._image_events(turn, plan, index, made, faults, seq, outcome):
                yield event
                if faults.cut_stream and event["type"].endswith(".partial_image"):
                    raise StreamCut
            output.append(outcome.item)
            outcomes.append(outcome)
            made += 0 if plan.blocked else 1
        if faults.cut_stream:
            raise StreamCut  # nothing partial was sent: drop before the message
        reply = turn.plan.reply
        message_id = wire.new_id("msg")
        index = len(output)
        yield seq.event(
            "response.output_item.added",
            output_index=index,
            item=wire.message_item(message_id, None, status="in_progress"),
        )
        common = {"item_id": message_id, "output_index": index, "content_index": 0}
        yield seq.event("response.content_part.added", **common, part=wire.output_text_part(""))
        for delta in textgen.text_deltas(reply):
            yield seq.event("response.output_text.delta", **common, delta=delta, logprobs=[])
        yield seq.event("response.output_text.done", **common, text=reply, logprobs=[])
        yield seq.event("response.content_part.done", **common, part=wire.output_text_part(reply))
        message = wire.message_item(message_id, reply, status="completed")
        yield seq.event("response.output_item.done", output_index=index, item=message)
        output.append(message)
        final = self._final(turn, output, outcomes, reply)
        if request.store:
            await self._store.save(
                NewResponse(
                    payload=final,
                    inputs=request.input,
                    instructions=request.instructions,
                    prompt_tokens=turn.input_tokens,
                    chain_tokens=turn.chained_tokens
                    + turn.current_tokens
                    + textgen.approx_tokens(reply)
                    + textgen.CONTEXT_IMAGE_TOKENS * made,
                )
            )
        yield seq.event("response.completed", response=final)

    async def _image_events(
        self,
        turn: PreparedTurn,
        plan: policy.ImagePlan,
        index: int,
        made_before: int,
        faults: FaultPlan,
        seq: wire.EventSequence,
        outcome: _ImageOutcome,
    ) -> AsyncGenerator[JsonDict, None]:
        tool = turn.request.tool or {}
        call_id = wire.new_id("ig")
        ids = {"item_id": call_id, "output_index": index}
        yield seq.event(
            "response.output_item.added",
            output_index=index,
            item=wire.image_call_item(call_id, status="in_progress"),
        )
        yield seq.event("response.image_generation_call.in_progress", **ids)
        if plan.blocked:
            outcome.item = wire.image_call_item(
                call_id, status="failed", error=wire.moderation_error(list(plan.blocked))
            )
            yield seq.event("response.output_item.done", output_index=index, item=outcome.item)
            return
        yield seq.event("response.image_generation_call.generating", **ids)
        model = str(tool.get("model", "gpt-image-2"))
        width, height = _resolve_size(turn, plan, str(tool.get("size", "auto")))
        quality = str(tool.get("quality", "auto"))
        quality = "medium" if quality == "auto" else quality
        fmt = str(tool.get("output_format", "png"))
        compression = tool.get("output_compression")
        background = str(tool.get("background", "auto"))
        fields = wire.ImageCallFields(
            size=f"{width}x{height}",
            quality=quality,
            output_format=fmt,
            background=background,
            action=plan.action,
        )
        partials = int(tool.get("partial_images", 0))
        key = await asyncio.to_thread(
            _render_key, turn, plan, width, height, background, fmt, compression, partials
        )
        cached = self._renders.get(key)
        frames: list[Image.Image] = []
        if cached is None:
            final = await asyncio.to_thread(_render, turn, plan, width, height, background)
            if partials:
                frames = await asyncio.to_thread(render.partial_frames, final, partials)
        count = len(cached.partials_b64) if cached is not None else len(frames)
        encoded: list[str] = []
        schedule = _schedule(faults, made_before, count)
        for k in range(count):
            if cached is not None:
                data = cached.partials_b64[k]
            else:
                data = await asyncio.to_thread(_encode_b64, frames[k], fmt, compression)
                encoded.append(data)
            await _sleep_until(turn.started + schedule[k])
            yield seq.event(
                "response.image_generation_call.partial_image",
                **ids,
                partial_image_b64=data,
                partial_image_index=k,
                size=fields.size,
                quality=quality,
                output_format=fmt,
                background=background,
            )
            outcome.partials += 1
        if cached is not None:
            result = cached.final_b64
        else:
            result = await asyncio.to_thread(_encode_b64, final, fmt, compression)
            self._renders.put(key, Rendered(result, tuple(encoded)))
        await _sleep_until(turn.started + schedule[-1])
        yield seq.event("response.image_generation_call.completed", **ids)
        outcome.item = wire.image_call_item(
            call_id, status="completed", fields=fields, result=result, revised_prompt=plan.prompt
        )
        outcome.text_tokens = textgen.approx_tokens(plan.prompt)
        sources = list(turn.references)
        if plan.action == "edit" and turn.source is not None:
            sources.insert(0, turn.source.image)
        outcome.image_tokens = sum(textgen.image_input_tokens(*im.size) for im in sources)
        outcome.output_tokens = (
            image_output_tokens(model, width, height, quality)
            + PARTIAL_IMAGE_TOKENS * outcome.partials
        )
        yield seq.event("response.output_item.done", output_index=index, item=outcome.item)

    def _final(
        self, turn: PreparedTurn, output: list[JsonDict], outcomes: list[_ImageOutcome], reply: str
    ) -> JsonDict:
        request = turn.request
        reasoning = (
            textgen.reasoning_tokens(turn.user_text, len(outcomes))
            if request.is_reasoning_model
            else 0
        )
        usage = wire.usage_payload(
            input_tokens=turn.input_tokens,
            cached_tokens=turn.cached_tokens,
            output_tokens=textgen.approx_tokens(reply) + reasoning,
            reasoning_tokens=reasoning,
        )
        tool_usage = wire.tool_usage_payload(
            text_tokens=sum(o.text_tokens for o in outcomes),
            image_tokens=sum(o.image_tokens for o in outcomes),
            output_image_tokens=sum(o.output_tokens for o in outcomes),
        )
        return wire.response_payload(
            response_id=turn.response_id,
            created_at=turn.created_at,
            model=request.model,
            status="completed",
            output=output,
            request=request.echo,
            usage=usage,
            tool_usage=tool_usage,
            completed_at=time.time(),
        )


def _current_message(items: list[JsonDict]) -> tuple[str, list[str]]:
    """The text and image data URLs of the last user message."""
    for item in reversed(items):
        if item["type"] == "message" and item["role"] == "user":
            texts = [p["text"] for p in item["content"] if p["type"] == "input_text"]
            urls = [p["image_url"] for p in item["content"] if p["type"] == "input_image"]
            return " ".join(texts).strip(), urls
    return "", []


def _input_tokens(items: list[JsonDict]) -> int:
    """Mainline tokens of the request's own input (see textgen for the rule)."""
    total = 0
    for item in items:
        if item["type"] == "message":
            for part in item["content"]:
                if part["type"] == "input_image":
                    total += textgen.CONTEXT_IMAGE_TOKENS
                else:
                    total += textgen.approx_tokens(part["text"])
        elif item["type"] in ("image_generation_call", "item_reference"):
            total += textgen.CONTEXT_IMAGE_TOKENS
    return total


def _resolve_size(turn: PreparedTurn, plan: policy.ImagePlan, size: str) -> tuple[int, int]:
    if size != "auto":
        return parse_size(size)
    if plan.action == "edit" and turn.source is not None:
        return render.edited_size(turn.source.image.size, plan.ops)
    return auto_size_for(turn.user_text or plan.prompt)


def _render(
    turn: PreparedTurn, plan: policy.ImagePlan, width: int, height: int, background: str
) -> Image.Image:
    """Blocking: draw or edit the image at exactly width x height."""
    if plan.scene is not None:
        editing = plan.action == "edit" and turn.source is not None
        return render.draw_scene(
            plan.scene,
            (width, height),
            transparent=background == "transparent",
            source=turn.source.image if editing and turn.source else None,
            mask=turn.mask if editing else None,
            references=() if plan.mixed else turn.references,
        )
    if plan.action == "edit" and turn.source is not None:
        return render.apply_edits(
            turn.source.image,
            plan.ops,
            mask=turn.mask,
            size=(width, height),
            references=turn.references,
        )
    image = render.render_scene(plan.prompt, width, height, transparent=background == "transparent")
    if turn.references:
        image = render.apply_edits(image, [], references=turn.references)
    return image


def _render_key(
    turn: PreparedTurn,
    plan: policy.ImagePlan,
    width: int,
    height: int,
    background: str,
    fmt: str,
    compression: int | None,
    partials: int,
) -> str:
    """Blocking: the render cache key of one image call."""
    editing = plan.action == "edit" and turn.source is not None
    return render_key(
        action=plan.action,
        prompt=plan.scene.to_json() if plan.scene else "" if editing else plan.prompt,
        ops=plan.ops,
        images=[
            turn.source.image if editing and turn.source else None,
            turn.mask,
            *turn.references,
        ],
        width=width,
        height=height,
        background=background,
        output_format=fmt,
        compression=compression,
        partials=partials,
    )


def _encode_b64(image: Image.Image, fmt: str, compression: int | None) -> str:
    """Blocking: encode and base64 an image."""
    return b64.b64encode(render.encode_image(image, fmt, compression))


def _schedule(faults: FaultPlan, call_index: int, partials: int) -> list[float]:
    """Seconds after the request for each partial, then the final image (last entry)."""
    if faults.latency is None:
        return [0.0] * (partials + 1)
    first, final = (ms / 1000 for ms in faults.latency)
    offset = call_index * final
    if partials == 0:
        return [offset + final]
    step = (final - first) / partials
    return [offset + first + k * step for k in range(partials)] + [offset + final]


async def _sleep_until(deadline: float) -> None:
    delay = deadline - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _decode_b64(data: str, param: str) -> Image.Image:
    def decode() -> Image.Image:
        try:
            raw = b64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("not valid base64") from exc
        return render.decode_image(raw)

    try:
        return await asyncio.to_thread(decode)
    except ValueError as exc:
        raise ApiError(
            400,
            f"Invalid image data ({exc}): send a PNG, JPEG or WEBP image, base64-encoded.",
            param=param,
            code="invalid_image",
        ) from exc


async def _decode_url(url: str, param: str) -> Image.Image:
    return await _decode_b64(url.partition(";base64,")[2], param)
