"""LiteLLM's management API over the store: keys, users, teams, spend, model info.

Same paths, request fields and response fields as LiteLLM's proxy, so its scripts and
dashboards keep working. Only the master key may call them (``/model/info`` takes any
valid key and shows that key's models). A field this proxy does not implement is
refused with its name rather than ignored; a key is shown in clear once, at creation.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.errors import APIError, AuthenticationError, BadRequestError, NotFoundError
from engine.proxy.handlers import JSON, error_response, internal_error, json_object
from engine.proxy.store.records import (
    duration_seconds,
    hash_key,
    iso,
    masked,
    new_key,
    public,
)
from engine.proxy.streaming import dumps
from engine.redact import short

if TYPE_CHECKING:
    from engine.proxy.handlers import Proxy
    from engine.proxy.store.service import Store

Check = Callable[[Any], bool]


def _nullable(check: Check) -> Check:
    return lambda v: v is None or check(v)


MAX_COUNT = 2**62  # fits both databases' 64-bit integers
MAX_AMOUNT = 1e15  # USD; far beyond any budget


def _number(v: Any) -> bool:
    return (
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= MAX_AMOUNT
    )


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_COUNT


def _text(v: Any) -> bool:
    return isinstance(v, str) and 0 < len(v) <= 256


def _names(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) and x for x in v)


MAX_DURATION = 100 * 365 * 86400.0  # seconds; a longer "duration" is a typo, not a plan


def _duration(v: Any) -> bool:
    seconds = duration_seconds(v) if isinstance(v, str) and len(v) <= 16 else None
    return seconds is not None and 0 < seconds <= MAX_DURATION


def _expires(v: Any) -> bool:
    return isinstance(v, str) and _parse_time(v) is not None


def _member(v: Any) -> bool:
    return isinstance(v, dict) and (isinstance(v.get("user_id"), str) or isinstance(v.get("user_email"), str))


BUDGET_FIELDS: dict[str, tuple[Check, str]] = {
    "models": (_names, "a list of model names"),
    "max_budget": (_nullable(_number), "a number from 0 to 1e15, or null"),
    "soft_budget": (_nullable(_number), "a number from 0 to 1e15, or null"),
    "budget_duration": (_nullable(_duration), 'a duration like "30s", "1h", "30d", "1mo", or null'),
    "rpm_limit": (_nullable(_count), "an integer from 0 to 2**62, or null"),
    "tpm_limit": (_nullable(_count), "an integer from 0 to 2**62, or null"),
    "max_parallel_requests": (_nullable(_count), "an integer from 0 to 2**62, or null"),
    "metadata": (lambda v: isinstance(v, dict), "an object"),
    "blocked": (lambda v: isinstance(v, bool), "true or false"),
}
KEY_FIELDS = {
    **BUDGET_FIELDS,
    "key_alias": (_nullable(_text), "a string or null"),
    "duration": (_nullable(_duration), 'a duration like "30d", or null (never expires)'),
    "expires": (_nullable(_expires), "an ISO 8601 time or null"),
    "user_id": (_nullable(_text), "a string or null"),
    "team_id": (_nullable(_text), "a string or null"),
    "key": (
        lambda v: isinstance(v, str) and v.startswith("sk-") and len(v) >= 12,
        'a string "sk-..." of 12+ characters',
    ),
}
USER_FIELDS = {
    **BUDGET_FIELDS,
    "user_id": (_text, "a string"),
    "user_alias": (_nullable(_text), "a string or null"),
    "user_email": (_nullable(_text), "a string or null"),
    "user_role": (_nullable(_text), "a string or null"),
    "teams": (_names, "a list of team ids"),
    "auto_create_key": (lambda v: isinstance(v, bool), "true or false"),
    "duration": KEY_FIELDS["duration"],
    "key_alias": KEY_FIELDS["key_alias"],
}
TEAM_FIELDS = {
    **BUDGET_FIELDS,
    "team_id": (_text, "a string"),
    "team_alias": (_nullable(_text), "a string or null"),
    "members_with_roles": (
        lambda v: isinstance(v, list) and all(_member(m) for m in v),
        "a list of {role, user_id}",
    ),
}


def _bad(message: str, param: str | None = None) -> APIError:
    return BadRequestError(message, param=param, llm_provider="proxy")


def _checked(
    body: dict[str, Any], fields: dict[str, tuple[Check, str]], allowed_extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    unknown = sorted(set(body) - set(fields) - set(allowed_extra))
    if unknown:
        raise _bad(
            f"unsupported field(s) {', '.join(map(repr, unknown))}; this proxy supports: {', '.join(sorted(fields))}",
            unknown[0],
        )
    for name, value in body.items():
        if name in fields and not fields[name][0](value):
            raise _bad(f"{name} must be {fields[name][1]}, got {short(value)}", name)
        if name in ("max_budget", "soft_budget") and value is not None:
            body[name] = float(value)  # stored as DOUBLE PRECISION on both databases
    return body


def _parse_time(value: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _expiry(body: dict[str, Any]) -> dict[str, Any]:
    """``duration`` (from now) or ``expires`` (a time) as the stored ``expires``."""
    out = dict(body)
    if "duration" in out:
        duration = out.pop("duration")
        out["expires"] = time.time() + duration_seconds(duration) if duration else None  # type: ignore[operator]
    elif isinstance(out.get("expires"), str):
        out["expires"] = _parse_time(out["expires"])
    return out


def _key_view(row: dict[str, Any]) -> dict[str, Any]:
    """A key row as LiteLLM shows it: the hash as ``token``, the masked key as ``key_name``."""
    return public(row)


class Management:
    """The management routes of one proxy."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy

    @property
    def store(self) -> Store:
        store = self.proxy.store
        if store is None:
            raise _bad("this proxy has no database (set general_settings.master_key to enable the store)")
        return store

    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Callable[[Request], Awaitable[Any]]]] = [
            ("/key/generate", "POST", self.key_generate),
            ("/key/info", "GET", self.key_info),
            ("/key/update", "POST", self.key_update),
            ("/key/delete", "POST", self.key_delete),
            ("/key/list", "GET", self.key_list),
            ("/key/regenerate", "POST", self.key_regenerate),
            ("/key/{key:path}/regenerate", "POST", self.key_regenerate),
            ("/key/block", "POST", self.key_block),
            ("/key/unblock", "POST", self.key_unblock),
            ("/user/new", "POST", self.user_new),
            ("/user/info", "GET", self.user_info),
            ("/user/update", "POST", self.user_update),
            ("/user/delete", "POST", self.user_delete),
            ("/team/new", "POST", self.team_new),
            ("/team/info", "GET", self.team_info),
            ("/team/update", "POST", self.team_update),
            ("/team/member_add", "POST", self.team_member_add),
            ("/team/delete", "POST", self.team_delete),
            ("/spend/logs", "GET", self.spend_logs),
            ("/global/spend", "GET", self.global_spend),
            ("/global/spend/report", "GET", self.global_spend_report),
        ]
        routes = [Route(path, self._guarded(fn), methods=[method]) for path, method, fn in table]
        for prefix in ("", "/v1"):
            routes.append(Route(prefix + "/model/info", self._answer(self.model_info), methods=["GET"]))
        return routes

    def _guarded(self, fn: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not self.proxy.keys.is_master(request.headers.get("authorization")):
                error = AuthenticationError(
                    "only the proxy's master key may call the management routes",
                    code="401",
                    llm_provider="proxy",
                )
                error.type = "auth_error"
                return error_response(error)
            return await self._answer(fn)(request)

        return endpoint

    @staticmethod
    def _answer(fn: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                result = await fn(request)
            except APIError as exc:
                return error_response(exc)
            except Exception:
                return internal_error(request.url.path)
            return Response(dumps(result), media_type=JSON)

        return endpoint

    # ----------------------------------------------------------------- helpers
    async def _body(self, request: Request) -> dict[str, Any]:
        body = json_object(await request.body())
        for name, value in body.items():  # a lone surrogate cannot be stored (UTF-8): the field's 400
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                raise _bad("a field name is not valid Unicode text (a lone surrogate)") from None
            try:
                json.dumps(value, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise _bad(f"{name}: not valid Unicode text (a lone surrogate)", name) from None
        return body

    def _check_models(self, models: list[str] | None) -> None:
        known = set(self.proxy.router.states)
        for name in models or []:
            if name not in known and name not in ("*", "all-proxy-models"):
                raise _bad(f"model {name!r} is not in this proxy's model_list", "models")

    async def _key_row(self, key: Any) -> dict[str, Any]:
        """A key row by the key itself or by its hash (LiteLLM accepts both)."""
        if not isinstance(key, str) or not key:
            raise _bad("missing 'key'", "key")
        row = await self.store.records.get("key", hash_key(key) if key.startswith("sk-") else key)
        if row is None:
            raise NotFoundError("key not found", param="key", llm_provider="proxy")
        return row

    async def _ensure_user(self, user_id: str | None) -> None:
        if user_id and await self.store.records.get("user", user_id) is None:
            await self.store.records.insert("user", {"user_id": user_id})

    async def _ensure_team(self, team_id: str | None) -> None:
        if team_id and await self.store.records.get("team", team_id) is None:
            raise _bad(f"team {team_id!r} does not exist (create it with /team/new)", "team_id")

    async def _create_key(self, values: dict[str, Any]) -> dict[str, Any]:
        values = _expiry(values)
        key = values.pop("key", None) or new_key()
        self._check_models(values.get("models"))
        await self._ensure_team(values.get("team_id"))
        await self._ensure_user(values.get("user_id"))
        token = hash_key(key)
        if await self.store.records.get("key", token) is not None:
            raise _bad("this key already exists", "key")
        row = await self.store.records.insert("key", {**values, "token": token, "key_name": masked(key)})
        self.store.accounts.invalidate(token)
        return {"key": key, **_key_view(row), "token_id": token}

    # ----------------------------------------------------------------- keys
    async def key_generate(self, request: Request) -> Any:
        return await self._create_key(_checked(await self._body(request), KEY_FIELDS))

    async def key_info(self, request: Request) -> Any:
        key = request.query_params.get("key")
        row = await self._key_row(key)
        return {"key": row["token"], "info": _key_view(row)}

    async def key_update(self, request: Request) -> Any:
        body = _checked(await self._body(request), KEY_FIELDS)
        row = await self._key_row(body.pop("key", None))
        values = _expiry(body)
        self._check_models(values.get("models"))
        await self._ensure_team(values.get("team_id"))
        await self._ensure_user(values.get("user_id"))
        updated = await self.store.records.update("key", row["token"], values) if values else row
        self.store.accounts.invalidate(row["token"])
        return {"key": row["token"], **_key_view(updated or row)}

    async def key_delete(self, request: Request) -> Any:
        body = _checked(await self._body(request), {}, ("keys", "key_aliases"))
        tokens = [
            hash_key(k) if k.startswith("sk-") else k for k in body.get("keys") or [] if isinstance(k, str)
        ]
        for alias in body.get("key_aliases") or []:
            tokens += [r["token"] for r in await self.store.records.get_many("key", "key_alias", alias)]
        if not tokens:
            raise _bad("send 'keys' (a list of keys) or 'key_aliases'", "keys")
        deleted = await self.store.records.delete("key", tokens)
        if not deleted:
            raise NotFoundError("none of these keys exists", param="keys", llm_provider="proxy")
        for token in deleted:
            self.store.accounts.invalidate(token)
        return {"deleted_keys": body.get("keys") or body.get("key_aliases")}

    async def key_list(self, request: Request) -> Any:
        params = request.query_params
        page, size = _int_param(params.get("page"), 1, "page"), _int_param(params.get("size"), 10, "size")
        filters = {k: params[k] for k in ("user_id", "team_id", "key_alias") if params.get(k)}
        rows, total = await self.store.records.list("key", filters, page, min(size, 1000))
        full = params.get("return_full_object", "false").lower() == "true"
        return {
            "keys": [_key_view(r) for r in rows] if full else [r["token"] for r in rows],
            "total_count": total,
            "current_page": page,
            "total_pages": max(1, math.ceil(total / size)) if size else 1,
        }

    async def key_regenerate(self, request: Request) -> Any:
        body = await self._body(request) if await request.body() else {}
        key = request.path_params.get("key") or body.pop("key", None)
        row = await self._key_row(key)
        body = _checked(body, KEY_FIELDS, ("new_key",))
        fresh = body.pop("new_key", None) or new_key()
        updated = await self.store.records.regenerate(row["token"], fresh)
        if body:
            updated = await self.store.records.update("key", hash_key(fresh), _expiry(body))
        self.store.accounts.invalidate(row["token"])
        return {"key": fresh, **_key_view(updated or row), "token_id": hash_key(fresh)}

    async def _set_blocked(self, request: Request, blocked: bool) -> Any:
        body = _checked(await self._body(request), {}, ("key",))
        row = await self._key_row(body.get("key"))
        updated = await self.store.records.update("key", row["token"], {"blocked": blocked})
        self.store.accounts.invalidate(row["token"])
        return _key_view(updated or row)

    async def key_block(self, request: Request) -> Any:
        return await self._set_blocked(request, True)

    async def key_unblock(self, request: Request) -> Any:
        return await self._set_blocked(request, False)

    # ----------------------------------------------------------------- users
    async def user_new(self, request: Request) -> Any:
        body = _checked(await self._body(request), USER_FIELDS)
        user_id = body.pop("user_id", None) or str(uuid.uuid4())
        auto_key = body.pop("auto_create_key", True)
        key_values = {k: body.pop(k) for k in ("duration", "key_alias") if k in body}
        self._check_models(body.get("models"))
        if await self.store.records.get("user", user_id) is not None:
            raise _bad(f"user {user_id!r} already exists", "user_id")
        for team_id in body.get("teams") or []:
            await self._ensure_team(team_id)
        row = await self.store.records.insert("user", {**body, "user_id": user_id})
        out = public(row)
        if auto_key:
            key = await self._create_key(
                {**key_values, "user_id": user_id, "models": body.get("models") or []}
            )
            out.update(
                {
                    "key": key["key"],
                    "token": key["token"],
                    "key_name": key["key_name"],
                    "expires": key["expires"],
                }
            )
        return out

    async def user_info(self, request: Request) -> Any:
        user_id = request.query_params.get("user_id")
        row = await self.store.records.get("user", user_id) if user_id else None
        if row is None:
            raise NotFoundError("user not found", param="user_id", llm_provider="proxy")
        keys = await self.store.records.get_many("key", "user_id", user_id)
        teams = [
            t for t in [await self.store.records.get("team", tid) for tid in row.get("teams") or []] if t
        ]
        return {
            "user_id": user_id,
            "user_info": public(row),
            "keys": [_key_view(k) for k in keys],
            "teams": [public(t) for t in teams],
        }

    async def user_update(self, request: Request) -> Any:
        body = _checked(
            await self._body(request),
            {k: v for k, v in USER_FIELDS.items() if k not in ("auto_create_key", "duration", "key_alias")},
        )
        user_id = body.pop("user_id", None)
        if not user_id:
            raise _bad("missing 'user_id'", "user_id")
        self._check_models(body.get("models"))
        row = await self.store.records.update("user", user_id, body)
        if row is None:
            raise NotFoundError("user not found", param="user_id", llm_provider="proxy")
        self.store.accounts.invalidate()
        return {"user_id": user_id, "data": public(row), **public(row)}

    async def user_delete(self, request: Request) -> Any:
        body = _checked(await self._body(request), {}, ("user_ids",))
        user_ids = [u for u in body.get("user_ids") or [] if isinstance(u, str)]
        if not user_ids:
            raise _bad("send 'user_ids' (a list)", "user_ids")
        for user_id in user_ids:  # a deleted user's keys stop working, as in LiteLLM
            await self.store.records.delete(
                "key", [k["token"] for k in await self.store.records.get_many("key", "user_id", user_id)]
            )
        deleted = await self.store.records.delete("user", user_ids)
        self.store.accounts.invalidate()
        return {"deleted_users": deleted}

    # ----------------------------------------------------------------- teams
    async def team_new(self, request: Request) -> Any:
        body = _checked(await self._body(request), TEAM_FIELDS)
        team_id = body.pop("team_id", None) or str(uuid.uuid4())
        self._check_models(body.get("models"))
        if await self.store.records.get("team", team_id) is not None:
            raise _bad(f"team {team_id!r} already exists", "team_id")
        members = body.get("members_with_roles") or []
        row = await self.store.records.insert("team", {**body, "team_id": team_id})
        for member in members:
            await self._join(team_id, member)
        return public(row)

    async def _join(self, team_id: str, member: dict[str, Any]) -> None:
        user_id = member.get("user_id")
        if not isinstance(user_id, str):
            return
        user = await self.store.records.get("user", user_id)
        if user is None:
            await self.store.records.insert(
                "user", {"user_id": user_id, "user_email": member.get("user_email"), "teams": [team_id]}
            )
        elif team_id not in user["teams"]:
            await self.store.records.update("user", user_id, {"teams": [*user["teams"], team_id]})

    async def team_info(self, request: Request) -> Any:
        team_id = request.query_params.get("team_id")
        row = await self.store.records.get("team", team_id) if team_id else None
        if row is None:
            raise NotFoundError("team not found", param="team_id", llm_provider="proxy")
        keys = await self.store.records.get_many("key", "team_id", team_id)
        return {"team_id": team_id, "team_info": public(row), "keys": [_key_view(k) for k in keys]}

    async def team_update(self, request: Request) -> Any:
        body = _checked(await self._body(request), TEAM_FIELDS)
        team_id = body.pop("team_id", None)
        if not team_id:
            raise _bad("missing 'team_id'", "team_id")
        self._check_models(body.get("models"))
        row = await self.store.records.update("team", team_id, body)
        if row is None:
            raise NotFoundError("team not found", param="team_id", llm_provider="proxy")
        self.store.accounts.invalidate()
        return {"team_id": team_id, "data": public(row)}

    async def team_member_add(self, request: Request) -> Any:
        body = _checked(await self._body(request), {}, ("team_id", "member", "max_budget_in_team"))
        if "max_budget_in_team" in body:
            raise _bad(
                "unsupported field 'max_budget_in_team' (per-member budgets are not implemented)",
                "max_budget_in_team",
            )
        team_id = body.get("team_id")
        team = await self.store.records.get("team", team_id) if isinstance(team_id, str) else None
        if team is None:
            raise NotFoundError("team not found", param="team_id", llm_provider="proxy")
        members = body.get("member")
        members = members if isinstance(members, list) else [members]
        if not members or not all(_member(m) for m in members):
            raise _bad("member must be {role, user_id} or a list of them", "member")
        current = team["members_with_roles"]
        for member in members:
            entry = {
                "role": member.get("role", "user"),
                "user_id": member.get("user_id"),
                "user_email": member.get("user_email"),
            }
            if not any(m.get("user_id") == entry["user_id"] for m in current):
                current.append(entry)
            await self._join(team_id, member)
        row = await self.store.records.update("team", team_id, {"members_with_roles": current})
        self.store.accounts.invalidate()
        return public(row or team)

    async def team_delete(self, request: Request) -> Any:
        body = _checked(await self._body(request), {}, ("team_ids",))
        team_ids = [t for t in body.get("team_ids") or [] if isinstance(t, str)]
        if not team_ids:
            raise _bad("send 'team_ids' (a list)", "team_ids")
        for team_id in team_ids:  # the team's keys go with it, as in LiteLLM
            await self.store.records.delete(
                "key", [k["token"] for k in await self.store.records.get_many("key", "team_id", team_id)]
            )
        deleted = await self.store.records.delete("team", team_ids)
        if not deleted:
            raise NotFoundError("none of these teams exists", param="team_ids", llm_provider="proxy")
        self.store.accounts.invalidate()
        return {"deleted_teams": deleted}

    # ----------------------------------------------------------------- spend
    async def spend_logs(self, request: Request) -> Any:
        params = request.query_params
        api_key = params.get("api_key")
        filters = {
            "api_key": hash_key(api_key) if api_key and api_key.startswith("sk-") else api_key,
            "user_id": params.get("user_id"),
            "request_id": params.get("request_id"),
            "team_id": params.get("team_id"),
        }
        start, end = _date_range(params.get("start_date"), params.get("end_date"))
        await self.store.writer.flush()  # what was served so far is in the answer
        rows = await self.store.records.spend_logs(
            filters, start, end, _int_param(params.get("limit"), 1000, "limit")
        )
        return [_spend_view(r) for r in rows]

    async def global_spend(self, request: Request) -> Any:
        await self.store.writer.flush()
        return {"spend": await self.store.records.total_spend(), "max_budget": None}

    async def global_spend_report(self, request: Request) -> Any:
        params = request.query_params
        group_by = params.get("group_by", "team")
        column = {"team": "team_id", "api_key": "api_key", "customer": "user_id", "user": "user_id"}.get(
            group_by
        )
        if column is None:
            raise _bad("group_by must be team, api_key or customer", "group_by")
        start, end = _date_range(params.get("start_date"), params.get("end_date"))
        await self.store.writer.flush()
        rows = await self.store.records.spend_by(column, start, end)
        days: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for row in rows:
            day = datetime.fromtimestamp(row["start_time"], timezone.utc).date().isoformat()
            group = days[day].setdefault(
                row["grp"] or "", {"total_spend": 0.0, "models": defaultdict(lambda: [0.0, 0])}
            )
            group["total_spend"] += row["spend"] or 0.0
            group["models"][row["model"]][0] += row["spend"] or 0.0
            group["models"][row["model"]][1] += row["total_tokens"] or 0
        label = {"team_id": "team_name", "api_key": "api_key", "user_id": "customer"}[column]
        plural = {"team_id": "teams", "api_key": "keys", "user_id": "customers"}[column]
        return [
            {
                "group_by_day": day,
                plural: [
                    {
                        label: name,
                        "total_spend": g["total_spend"],
                        "metadata": [
                            {"model": m, "spend": s, "total_tokens": t}
                            for m, (s, t) in sorted(g["models"].items(), key=lambda i: str(i[0]))
                        ],
                    }
                    for name, g in sorted(groups.items())
                ],
            }
            for day, groups in sorted(days.items())
        ]

    # ----------------------------------------------------------------- models
    async def model_info(self, request: Request) -> Any:
        caller = await self.proxy.keys.aauthenticate(request.headers.get("authorization"))
        data = []
        for deployment in self.proxy.config.deployments:
            if not caller.allows(deployment.model_name):
                continue
            data.append(
                {
                    "model_name": deployment.model_name,
                    "litellm_params": {"model": deployment.model, **_safe(deployment.options)},
                    "model_info": {**_prices(deployment.model), **deployment.model_info, "id": deployment.id},
                }
            )
        return {"data": data}


def _safe(options: dict[str, Any]) -> dict[str, Any]:
    """Deployment options without credentials or headers (which may hold secrets)."""
    return {k: v for k, v in options.items() if k not in ("vertex_credentials", "extra_headers")}


def _prices(model: str) -> dict[str, Any]:
    """LiteLLM's model_info price fields (USD per token / per image / per character) for ``model``."""
    from engine.cost import _model_price

    price = _model_price(model)
    if price is None:
        return {"input_cost_per_token": None, "output_cost_per_token": None}
    out: dict[str, Any] = {
        "input_cost_per_token": price.rates.input,
        "output_cost_per_token": price.rates.output,
        "cache_read_input_token_cost": price.rates.cached_input,
        "cache_creation_input_token_cost": price.rates.cache_write,
    }
    if price.above is not None:
        out["input_cost_per_token_above_200k_tokens"] = price.above.input
        out["output_cost_per_token_above_200k_tokens"] = price.above.output
    if price.image is not None:
        out["output_cost_per_image"] = price.image
    if price.characters is not None:
        out["input_cost_per_character"] = price.characters
    if price.regional:  # the rates above are the global endpoint's (LiteLLM's field for the premium)
        out["regional_endpoint_uplift_multiplier"] = 1.0 + price.regional
    return {k: v for k, v in out.items() if v is not None} or {"input_cost_per_token": None}


def _spend_view(row: dict[str, Any]) -> dict[str, Any]:
    """A spend log row with LiteLLM's field names (``startTime``, ``endTime``, ``user``, ``model_id``)."""
    return {
        "request_id": row["request_id"],
        "call_type": row["call_type"],
        "api_key": row["api_key"],
        "spend": row["spend"] or 0.0,
        "total_tokens": row["total_tokens"],
        "prompt_tokens": row["prompt_tokens"],
        "completion_tokens": row["completion_tokens"],
        "startTime": iso(row["start_time"]),
        "endTime": iso(row["end_time"]),
        "model": row["model"],
        "model_id": row["model_id"],
        "model_group": row["model_group"],
        "user": row["user_id"],
        "team_id": row["team_id"],
        "status": row["status"],
        "metadata": {
            **(row.get("metadata") or {}),
            "cached_tokens": row["cached_tokens"],
            "reasoning_tokens": row["reasoning_tokens"],
            "latency_ms": row["latency_ms"],
            "error_type": row["error_type"],
            "cost_known": row["spend"] is not None,
        },
    }


def _int_param(value: str | None, default: int, name: str) -> int:
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise _bad(f"{name} must be a positive integer", name)
    return int(value)


def _date_range(start: str | None, end: str | None) -> tuple[float | None, float | None]:
    """``YYYY-MM-DD`` (or ISO times) as epoch seconds; an end date counts its whole day."""
    out: list[float | None] = []
    for value, name in ((start, "start_date"), (end, "end_date")):
        if value is None:
            out.append(None)
            continue
        ts = _parse_time(value)
        if ts is None:
            raise _bad(f"{name} must be a date (YYYY-MM-DD)", name)
        out.append(ts + 86400 if name == "end_date" and len(value) == 10 else ts)
    return out[0], out[1]
