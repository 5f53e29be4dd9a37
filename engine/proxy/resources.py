"""OpenAI's files, batches and fine-tuning endpoints: the seed's batch and tuning flows through the proxy.

Why apart from :mod:`engine.proxy.handlers`: these endpoints name no model group, so
there is no deployment to route to. The provider the request names
(``extra_body={"custom_llm_provider": "vertex_ai"}``, which arrives as a JSON field, a
form field or a query parameter) picks an entry of ``files_settings`` or
``finetune_settings`` for credentials, project, location and bucket; without one the
engine falls back to the environment, as LiteLLM does. The engine's resource
functions do the translation; keys, limits and the error format are the proxy's own.

A key limited to some models (``general_settings.keys[].models``) may create files,
batches and tuning jobs only for the models of those groups' deployments, and sees
only objects it created or whose models it may use (:mod:`engine.proxy.ownership`);
another object's id answers 404, as if it did not exist. Keys without a model list
(and the master key) see everything.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

import engine
from engine.errors import APIError, BadRequestError, InternalServerError, NotFoundError, PermissionDeniedError
from engine.proxy.handlers import JSON, Proxy, error_response, internal_error, json_object
from engine.proxy.intake import read_body, replay_error
from engine.proxy.keys import Caller
from engine.proxy.operations import CLIENT_FORBIDDEN, INTEGER_QUERY, Resource
from engine.proxy.ownership import Ledger, MemoryLedger, Owned, ids, models_in_path
from engine.proxy.provider_settings import DEFAULT_PROVIDER, NONE, SERVED_PROVIDERS, SETTINGS_ONLY
from engine.proxy.streaming import dumps
from engine.redact import short

PROVIDER = "custom_llm_provider"
# Keys a client may not send: where the call goes and with which credentials is the config's choice.
FORBIDDEN = (CLIENT_FORBIDDEN - {PROVIDER}) | SETTINGS_ONLY
IGNORED = frozenset({"user"})  # OpenAI bookkeeping; metadata is forwarded (it becomes Vertex labels)


def _bad(message: str, param: str | None = None) -> BadRequestError:
    return BadRequestError(message, param=param, llm_provider="proxy")


@dataclass(frozen=True)
class Access:
    """What a resource function does to which kind of object, for the key's model check."""

    kind: str  # "file" | "batch" | "fine_tuning_job"
    action: str  # "create" | "read" (retrieve, content, cancel: checked before the call) | "list"
    id_param: str | None = None


ACCESS: dict[str, Access] = {
    "acreate_file": Access("file", "create"),
    "afile_content": Access("file", "read", "file_id"),
    "aretrieve_file": Access("file", "read", "file_id"),
    "acreate_batch": Access("batch", "create"),
    "alist_batches": Access("batch", "list"),
    "aretrieve_batch": Access("batch", "read", "batch_id"),
    "acancel_batch": Access("batch", "read", "batch_id"),
    "acreate_fine_tuning_job": Access("fine_tuning_job", "create"),
    "alist_fine_tuning_jobs": Access("fine_tuning_job", "list"),
    "aretrieve_fine_tuning_job": Access("fine_tuning_job", "read", "fine_tuning_job_id"),
    "acancel_fine_tuning_job": Access("fine_tuning_job", "read", "fine_tuning_job_id"),
}
# The engine function that reads an object of a kind, to learn its model before acting on it.
RETRIEVE = {"batch": "aretrieve_batch", "fine_tuning_job": "aretrieve_fine_tuning_job"}


class Resources:
    """Handles every row of :data:`engine.proxy.operations.RESOURCES` for one running proxy."""

    def __init__(self, proxy: Proxy, ledger: Ledger | None = None) -> None:
        self.proxy = proxy
        self.ledger: Ledger = ledger or MemoryLedger()
        self._allowed: dict[frozenset[str], frozenset[str]] = {}

    async def handle(self, request: Request, resource: Resource) -> Response:
        """Authenticate, read the arguments, add the provider's settings, check the key, call the engine, answer."""
        started = time.time()
        with self.proxy.tracked():
            try:
                caller = await self.proxy.keys.aauthenticate(request.headers.get("authorization"))
                params = await arguments(request, resource, self.proxy.max_body)
                kwargs = {**self._settings(resource, params.pop(PROVIDER, DEFAULT_PROVIDER)), **params}
                caller = await self.proxy.keys.admit(caller)
            except APIError as exc:
                return error_response(exc)
            except Exception:
                return internal_error(request.url.path)
            model = kwargs.get("model") if isinstance(kwargs.get("model"), str) else None
            try:
                result = await self._call(resource, caller, kwargs)
            except APIError as exc:
                self.proxy.account(caller, resource.function, model, started, error=exc)
                return error_response(exc)
            except Exception:
                error = InternalServerError("internal")
                self.proxy.account(caller, resource.function, model, started, error=error)
                return internal_error(request.url.path)
            finally:
                caller.done(0)
            # No cost: creating a file or a job is not billed per request (a batch's or tuning job's
            # charges come later, from Vertex AI); the row still says who did what, and how it went.
            self.proxy.account(caller, resource.function, model, started, result)
        if resource.binary:
            return Response(result.content, media_type=result.media_type)
        return Response(dumps(result), media_type=JSON)

    async def _engine(self, function: str, kwargs: dict[str, Any]) -> Any:
        """One engine call; an untyped failure is the client's 400 when building the request fails again."""
        try:
            return await getattr(engine, function)(**kwargs)
        except APIError:
            raise
        except Exception as exc:
            raise replay_error(exc, function.removeprefix("a"), {"model": "vertex_ai/", **kwargs}) from None

    # ------------------------------------------------------------------ the key's models
    async def _call(self, resource: Resource, caller: Caller, kwargs: dict[str, Any]) -> Any:
        access = ACCESS.get(resource.function)
        if access is None:
            return await self._engine(resource.function, kwargs)
        if access.action == "create":
            wanted = _models_created(access.kind, kwargs)
            self._check_models(caller, wanted)
            result = await self._engine(resource.function, kwargs)
            self._record(access.kind, caller, result, wanted)
            return result
        if access.action == "list":
            result = await self._engine(resource.function, kwargs)
            if caller.models is not None and isinstance(result.get("data"), list):
                result["data"] = [
                    item for item in result["data"] if self._may_see_item(access.kind, caller, item)
                ]
            return result
        ident = kwargs.get(access.id_param or "")
        if caller.models is None:
            return await self._engine(resource.function, kwargs)
        owned = self.ledger.lookup(access.kind, ident) if isinstance(ident, str) else None
        if owned is not None or access.kind == "file":
            models = owned.models if owned is not None else models_in_path(ident)
            self._check_visible(caller, access.kind, ident, owned.owner if owned else None, models)
            return await self._engine(resource.function, kwargs)
        # Not created here: the object's own record at Vertex AI names its model.
        reader = RETRIEVE[access.kind]
        found = await self._engine(reader, kwargs)
        self._check_visible(caller, access.kind, ident, None, ids([found.get("model")]))
        return found if resource.function == reader else await self._engine(resource.function, kwargs)

    def allowed(self, caller: Caller) -> frozenset[str] | None:
        """The model ids a key may use in files and jobs: those of its groups' deployments (None: any)."""
        if caller.models is None:
            return None
        cached = self._allowed.get(caller.models)
        if cached is None:
            groups = self.proxy.config.groups
            cached = ids(d.model for name in caller.models for d in groups.get(name, ()))
            self._allowed[caller.models] = cached
        return cached

    def _check_models(self, caller: Caller, wanted: frozenset[str]) -> None:
        allowed = self.allowed(caller)
        refused = sorted(wanted - allowed) if allowed is not None else []
        if refused:
            raise PermissionDeniedError(
                f"API key '{caller.alias}' is not allowed to use model {short(refused[0])}",
                code="model_not_allowed",
                param="model",
                llm_provider="proxy",
            )

    def _visible(self, caller: Caller, owner: str | None, models: frozenset[str]) -> bool:
        allowed = self.allowed(caller)
        return allowed is None or owner == caller.alias or (bool(models) and models <= allowed)

    def _check_visible(
        self, caller: Caller, kind: str, ident: Any, owner: str | None, models: frozenset[str]
    ) -> None:
        if not self._visible(caller, owner, models):
            raise NotFoundError(
                f"no {kind.replace('_', ' ')} {short(ident)} for API key '{caller.alias}'",
                code="not_found",
                llm_provider="proxy",
            )

    def _may_see_item(self, kind: str, caller: Caller, item: Any) -> bool:
        ident = item.get("id") if isinstance(item, dict) else None
        owned = self.ledger.lookup(kind, ident) if isinstance(ident, str) else None
        if owned is not None:
            return self._visible(caller, owned.owner, owned.models)
        return self._visible(
            caller, None, ids([item.get("model")]) if isinstance(item, dict) else frozenset()
        )

    def _record(self, kind: str, caller: Caller, result: Any, wanted: frozenset[str]) -> None:
        ident = result.get("id") if isinstance(result, dict) else None
        if not isinstance(ident, str):
            return
        models = (
            wanted | ids([result.get("model")]) | (models_in_path(ident) if kind == "file" else frozenset())
        )
        self.ledger.record(Owned(kind, ident, caller.alias, models))

    def _settings(self, resource: Resource, provider: Any) -> dict[str, Any]:
        if provider not in SERVED_PROVIDERS:
            raise _bad(
                f"custom_llm_provider {provider!r} is not served by this proxy (use {', '.join(SERVED_PROVIDERS)})",
                PROVIDER,
            )
        entry = self.proxy.config.providers.get(resource.settings, {}).get(provider, NONE)
        settings = entry.for_target(resource.target)
        return {k: v for k, v in settings.items() if k not in resource.unused_settings}


def _models_created(kind: str, kwargs: dict[str, Any]) -> frozenset[str]:
    """The models an object about to be created is for (as far as the request says)."""
    if kind == "fine_tuning_job":
        return ids([kwargs.get("model")])
    if kind == "batch":
        return models_in_path(kwargs.get("input_file_id")) or ids([kwargs.get("model")])
    upload = kwargs.get("file")
    if kwargs.get("purpose") != "batch" or not isinstance(upload, tuple):
        return frozenset()
    return ids(_line_models(upload[1]))


def _line_models(content: bytes) -> list[Any]:
    """``body.model`` of every OpenAI batch line that has one (the engine rejects the others)."""
    models = []
    for line in content.splitlines():
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            continue
        body = data.get("body") if isinstance(data, dict) else None
        if isinstance(body, dict):
            models.append(body.get("model"))
    return models


async def arguments(request: Request, resource: Resource, limit: int | None = None) -> dict[str, Any]:
    """The engine function's arguments: body (JSON or form), query, then the ids in the path."""
    raw = await read_body(
        request, limit
    )  # OpenAI's client sends extra_body as JSON even on GET; cancel sends none
    if resource.form:
        params = await _form(request)
    else:
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
        raise _bad(f"query parameter {key!r} must be an integer, got {short(value)}", key) from None


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
