"""The ASGI application: control API, OAuth token endpoint, metadata server, Vertex APIs.

Why a thin top level: each family module owns its routes; this module only
stitches them into one Starlette app bound to one :class:`EmulatorState`.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from engine.emulator import anthropic, gemini, methods, openai_compat, predict, resources, storage, tts, video
from engine.emulator.auth import token_endpoint
from engine.emulator.control import control
from engine.emulator.metadata import metadata, root
from engine.emulator.routing import Route, dispatch, log_entry
from engine.emulator.state import EmulatorState
from engine.emulator.streaming import install_log_filter

# Order matters only where patterns overlap: Claude before other partners,
# the MaaS "openapi" endpoint before generic endpoints.
API_ROUTES: list[Route] = [
    *gemini.ROUTES,
    *anthropic.ROUTES,
    *openai_compat.ROUTES,
    *predict.ROUTES,
    *resources.ROUTES,
    *tts.ROUTES,
    *methods.ROUTES,
    *video.ROUTES,
]


def create_app(state: EmulatorState | None = None) -> Starlette:
    """A Starlette app serving the emulator for ``state`` (a fresh one by default)."""
    shared = state if state is not None else EmulatorState()
    install_log_filter()

    async def api(request: Request) -> Response:
        return await dispatch(request, shared, API_ROUTES)

    async def token(request: Request) -> Response:
        shared.record(log_entry(request, None, None))
        return await token_endpoint(request, shared)

    async def control_call(request: Request) -> Response:
        return await control(request, shared, request.path_params["action"])

    async def metadata_call(request: Request) -> Response:
        shared.record(log_entry(request, None, None))
        return metadata(request, shared, request.path_params["path"])

    def storage_call(handler: Any) -> Any:
        async def call(request: Request) -> Response:
            shared.record(log_entry(request, None, None))
            return await handler(request, shared)

        return call

    methods = ["GET", "POST", "PATCH", "DELETE", "PUT"]
    app = Starlette(
        routes=[
            StarletteRoute("/", root, methods=["GET"]),
            StarletteRoute("/token", token, methods=["POST"]),
            StarletteRoute("/emulator/{action}", control_call, methods=methods),
            StarletteRoute("/computeMetadata/v1/{path:path}", metadata_call, methods=["GET"]),
            # The built-in Cloud Storage (JSON API subset, engine/emulator/storage.py).
            StarletteRoute("/upload/storage/v1/b/{bucket}/o", storage_call(storage.upload), methods=["POST"]),
            StarletteRoute("/storage/v1/b", storage_call(storage.bucket_call), methods=["POST"]),
            StarletteRoute("/storage/v1/b/{bucket}", storage_call(storage.bucket_call), methods=["GET"]),
            StarletteRoute("/storage/v1/b/{bucket}/o", storage_call(storage.list_objects), methods=["GET"]),
            StarletteRoute(
                "/storage/v1/b/{bucket}/o/{name:path}",
                storage_call(storage.object_call),
                methods=["GET", "DELETE"],
            ),
            StarletteRoute(
                "/download/storage/v1/b/{bucket}/o/{name:path}",
                storage_call(storage.object_call),
                methods=["GET"],
            ),
            StarletteRoute("/{path:path}", api, methods=methods),
        ]
    )
    app.state.emulator = shared
    return app
