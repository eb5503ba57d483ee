"""One response, start to finish: resolve its context, then produce its stream events.

``prepare`` does everything that can fail with a 400 (ids, images, masks, policy) before a
single byte is sent; ``events`` then yields the Responses API stream events in order and
stores the response (when ``store`` is true) right before ``response.completed``.

All Pillow work, base64 and big JSON runs in worker threads: the engine shares the app's
event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from agent.engine import (
    context,
    functions,
    models,
    picks,
    policy,
    render,
    textgen,
    usage_model,
    wire,
)
from agent.engine.faults import FaultPlan
from agent.engine.render_cache import RenderCache, Rendered, render_key
from agent.engine.request import CreateRequest, bad_request
from agent.engine.state import NewResponse, ResponseStore, StoredResponse
from agent.images import b64
from agent.images.spec import (
    PARTIAL_IMAGE_TOKENS,
    auto_size_for,
    image_output_tokens,
    parse_size,
)

JsonDict = dict[str, Any]


class StreamCut(Exception):
    """The ``cut_stream`` fault: the connection must drop now."""


@dataclass
class PreparedTurn:
    """A validated request with its context resolved; nothing has been sent yet."""

    request: CreateRequest
    response_id: str
    created_at: int
    started: float  # loop time when the request arrived (latency faults count from here)
    user_text: str
    plan: policy.Plan
    source: context.SourceImage | None
    references: list[Image.Image]
    mask: Image.Image | None
    input_tokens: int  # what the first sampling reads (usage_model.context_tokens)
    cached_tokens: int  # of those, cached from the chain
    chained_tokens: int
    current_tokens: int
    chain_ids: list[str] = field(default_factory=list)
    call: functions.FunctionCall | None = None


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
        explicit = await context.explicit_image(self._store, request, chain_ids)
        user_text, current_images = context.current_message(request.input)
        call = functions.choose(
            request.functions,
            user_text=user_text,
            items=request.input,
            tool_choice=request.tool_choice,
            forced=request.forced_function,
            has_image_tool=request.tool is not None,
        )
        answers = functions.pending_outputs(request.input)
        model_text = " ".join([user_text, *answers]).strip()
        uploads = await asyncio.gather(*(context.decode_url(u, "input") for u in current_images))
        source = explicit
        references = list(uploads)
        if source is None and references:
            source = context.SourceImage(references.pop(0), None)
        picked: list[tuple[int, str, str | None]] = []
        if source is None and chain_ids:
            picked = await picks.picked(self._store, chain_ids, user_text)
            for _, result, prompt in picked:
                image = await context.decode_b64(result, "previous_response_id")
                if source is None:
                    source = context.SourceImage(image, prompt)
                else:
                    references.append(image)
        if source is None and chain_ids:
            source = await context.chain_image(self._store, chain_ids)
        mask = await context.mask_image(request)
        tool = request.tool or {}
        try:
            plan = policy.decide(
                policy.TurnInput(
                    user_text=model_text,
                    instructions=request.instructions,
                    has_tool=request.tool is not None and call is None,
                    tool_choice=request.tool_choice if request.tool is not None else "auto",
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
        input_tokens = usage_model.context_tokens(
            instructions=request.instructions,
            tools=usage_model.tool_tokens(request.tool, request.functions),
            history=chained + current,
        )
        cached = 0
        if chain and chain[0].instructions == request.instructions:
            cached = usage_model.chain_cached_tokens(chain[0].prompt_tokens, input_tokens)
        return PreparedTurn(
            request=request,
            response_id=wire.new_id("resp"),
            created_at=int(time.time()),
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
            call=call,
        )

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
            model=models.snapshot(request.model),
            status="in_progress",
            output=[],
            request=echo,
        )
        yield seq.event("response.created", response=header)
        yield seq.event("response.in_progress", response=header)
        output: list[JsonDict] = []
        if request.is_reasoning_model:
            item = wire.reasoning_item(wire.new_id("rs"), encrypted=request.include_encrypted)
            yield seq.event("response.output_item.added", output_index=0, item=item)
            yield seq.event("response.output_item.done", output_index=0, item=item)
            output.append(item)
        if turn.call is not None:
            async for event in wire.function_call_events(seq, turn.call, len(output), output):
                yield event
            async for event in self._complete(turn, seq, output, [], ""):
                yield event
            return
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
        async for event in self._complete(turn, seq, output, outcomes, reply):
            yield event

    async def _complete(
        self,
        turn: PreparedTurn,
        seq: wire.EventSequence,
        output: list[JsonDict],
        outcomes: list[_ImageOutcome],
        reply: str,
    ) -> AsyncGenerator[JsonDict, None]:
        """Store the response (when asked to) and yield ``response.completed``."""
        request = turn.request
        final = self._final(turn, output, outcomes, reply)
        made = sum(1 for o in outcomes if o.item.get("status") == "completed")
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
        background = "opaque" if background == "auto" else background
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
        made = [o.item for o in outcomes if o.item.get("status") == "completed"]
        calls = [i["arguments"] for i in output if i["type"] == "function_call"]
        reasoning = usage_model.reasoning_tokens(
            request.effort if request.is_reasoning_model else None,
            images=len(outcomes),
            functions=len(calls),
            seed=textgen.seed_of(turn.user_text, request.model),
        )
        usage = usage_model.mainline_usage(
            context=turn.input_tokens,
            chain_cached=turn.cached_tokens,
            revised_prompts=[str(i.get("revised_prompt") or "") for i in made],
            reply=reply,
            function_arguments=calls,
            reasoning=reasoning,
        )
        tool_usage = wire.tool_usage_payload(
            text_tokens=sum(o.text_tokens for o in outcomes),
            image_tokens=sum(o.image_tokens for o in outcomes),
            output_image_tokens=sum(o.output_tokens for o in outcomes),
        )
        return wire.response_payload(
            response_id=turn.response_id,
            created_at=turn.created_at,
            model=models.snapshot(request.model),
            status="completed",
            output=output,
            request=request.echo,
            usage=wire.usage_payload(
                input_tokens=usage.input_tokens,
                cached_tokens=usage.cached_tokens,
                output_tokens=usage.output_tokens,
                reasoning_tokens=usage.reasoning_tokens,
            ),
            tool_usage=tool_usage,
            completed_at=int(time.time()),
        )


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
        elif item["type"] == "function_call":
            total += textgen.approx_tokens(item["name"] + item["arguments"]) + 8
        elif item["type"] == "function_call_output":
            total += textgen.approx_tokens(item["output"]) + 8
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
