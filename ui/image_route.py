"""The guarded route the app's own custom elements load studio images from.

``/atelier/image/<image id>`` serves an image file exactly as generated and
``/atelier/image/<image id>/thumb`` its cached WebP thumbnail, both from the agent store (no
copies). The caller is identified as the element-file route does it (``identify``: a valid,
unrevoked session) and must be allowed to read the image's thread (its author, or anyone it
was shared with).
No session: 401. Unknown image or not allowed: 404, so existence is not revealed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from agent.runtime import Atelier

IMAGE_PREFIX = "/atelier/image"
_IMAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")
_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}

MayReadThread = Callable[[str, str], Awaitable[bool]]


def image_url(image_id: str) -> str:
    """Where the app serves an image (same origin, guarded)."""
    return f"{IMAGE_PREFIX}/{image_id}"


def thumb_url(image_id: str) -> str:
    """Where the app serves an image's thumbnail (same origin, guarded)."""
    return f"{IMAGE_PREFIX}/{image_id}/thumb"


def install_image_route(
    app: FastAPI,
    atelier: Callable[[], Atelier],
    may_read_thread: MayReadThread,
    identify: Callable[[Request], Awaitable[str | None]],
) -> None:
    """Add the image and thumbnail routes at the front of the router (before Chainlit's GET)."""

    async def serve(request: Request) -> Response:
        identifier = await identify(request)
        if identifier is None:
            return JSONResponse({"detail": "Not authenticated"}, status_code=401)
        not_found = JSONResponse({"detail": "Not found"}, status_code=404)
        image_id = str(request.path_params["image_id"])
        variant = request.path_params.get("variant")
        if not _IMAGE_ID.fullmatch(image_id) or variant not in (None, "thumb"):
            return not_found
        studio = atelier()
        image = await studio.store.get_image(image_id)
        if image is None or not await may_read_thread(identifier, image.session_id):
            return not_found
        try:
            if variant == "thumb":
                path, mime = await studio.files.thumbnail(image.path), "image/webp"
            else:
                # On this machine, or fetched from object storage (refused outside the folder).
                path = await studio.files.ensure_local(image.path)
                mime = _MIME.get(image.output_format, "application/octet-stream")
        except (OSError, ValueError):
            return not_found
        if not path.is_file():
            return not_found
        headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
        return FileResponse(path, media_type=mime, headers=headers)

    for route in (
        Route(f"{IMAGE_PREFIX}/{{image_id}}", serve, methods=["GET"]),
        Route(f"{IMAGE_PREFIX}/{{image_id}}/{{variant:str}}", serve, methods=["GET"]),
    ):
        app.router.routes.insert(0, route)
