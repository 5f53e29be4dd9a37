"""OpenAI's files, batches and fine-tuning endpoints: the seed's batch and tuning flows through the proxy.

Why apart from :mod:`engine.proxy.handlers`: these endpoints name no model group, so
there is no deployment to route to. The provider the request names
(``extra_body={"custom_llm_provider": "vertex_ai"}``, which arrives as a JSON field, a
form field or a query parameter) picks an entry of ``files_settings`` or
``finetune_settings`` for credentials, project, location and bucket; without one the
engine falls back to the environment, as LiteLLM does. The engine's resource
functions do the translation; keys, limits and the error format are the proxy's own.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

import engine
from engine.errors import APIError, BadRequestError
from engine.proxy.handlers import JSON, Proxy, error_response, internal_error, json_object
from engine.proxy.operations import CLIENT_FORBIDDEN, INTEGER_QUERY, Resource
from engine.proxy.provider_settings import DEFAULT_PROVIDER, NONE, SERVED_PROVIDERS, SETTINGS_ONLY
from engine.proxy.streaming import dumps

PROVIDER = "custom_llm_provider"
# Keys a client may not send: where the call goes and with which credentials is the config's choice.
FORBIDDEN = (CLIENT_FORBIDDEN - {PROVIDER}) | SETTINGS_ONLY
IGNORED = frozenset({"user"})  # OpenAI bookkeeping; metadata is forwarded (it becomes Vertex labels)


def _bad(message: str, param: str | None = None) -> BadRequestError:
    return BadRequestError(message, param=param, llm_provider="proxy")


class Resources:
    """Handles every row of :data:`engine.proxy.operations.RESOURCES` for one running proxy."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy

    async def handle(self, request: Request, resource: Resource) -> Response:
        """Authenticate, read the arguments, add the provider's settings, call the engine, answer."""
        with self.proxy.tracked():
            try:
                caller = await self.proxy.keys.aauthenticate(request.headers.get("authorization"))
                params = await arguments(request, resource)
                kwargs = {**self._settings(resource, params.pop(PROVIDER, DEFAULT_PROVIDER)), **params}
                caller.admit()
            except APIError as exc:
                return error_response(exc)
            try:
                result = await getattr(engine, resource.function)(**kwargs)
            except APIError as exc:
                return error_response(exc)
            except Exception:
                return internal_error(request.url.path)
            finally:
                caller.done(0)
        if resource.binary:
            return Response(result.content, media_type=result.media_type)
        return Response(dumps(result), media_type=JSON)

    def _settings(self, resource: Resource, provider: Any) -> dict[str, Any]:
        if provider not in SERVED_PROVIDERS:
            raise _bad(
                f"custom_llm_provider {provider!r} is not served by this proxy (use {', '.join(SERVED_PROVIDERS)})",
                PROVIDER,
            )
        entry = self.proxy.config.providers.get(resource.settings, {}).get(provider, NONE)
        settings = entry.for_target(resource.target)
        return {k: v for k, v in settings.items() if k not in resource.unused_settings}


async def arguments(request: Request, resource: Resource) -> dict[str, Any]:
    """The engine function's arguments: body (JSON or form), query, then the ids in the path."""
    if resource.form:
        params = await _form(request)
    else:
        raw = await request.body()  # OpenAI's client sends extra_body as JSON even on GET; cancel sends none
        params = json_object(raw) if raw.strip() else {}
    for key, value in request.query_params.items():
        params.setdefault(key, _query_value(key, value))
    params.update(request.path_params)
    forbidden = sorted(FORBIDDEN & params.keys())
    if forbidden:
        raise _bad(
            f"parameter {forbidden[0]!r} is set by the proxy's config and cannot be sent by a client",
            forbidden[0],
        )
    return {k: v for k, v in params.items() if k not in IGNORED}


def _query_value(key: str, value: str) -> Any:
    if key not in INTEGER_QUERY:
        return value
    try:
        return int(value)
    except ValueError:
        raise _bad(f"query parameter {key!r} must be an integer, got {value!r}", key) from None


async def _form(request: Request) -> dict[str, Any]:
    """A multipart upload as engine arguments: the ``file`` part becomes ``(filename, bytes)``."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise _bad(f"{request.url.path} takes multipart/form-data with a 'file' part and a 'purpose' field")
    try:
        form = await request.form()
    except HTTPException as exc:  # python-multipart could not parse the body
        raise _bad(f"the multipart body cannot be read: {exc.detail}") from None
    params: dict[str, Any] = {}
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                params[key] = (value.filename or key, await value.read())
            else:
                params[key] = value
    finally:
        await form.close()
    if not isinstance(params.get("file"), tuple):
        raise _bad("the upload needs a 'file' part", "file")
    return params
