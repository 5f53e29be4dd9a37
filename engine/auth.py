"""Google credentials, project and location: where they come from, and cached access tokens.

Credentials are resolved in LiteLLM's order: ``vertex_credentials`` (a JSON string,
a dict or a file path), then ``GOOGLE_APPLICATION_CREDENTIALS``, then Application
Default Credentials (which also covers Cloud Run's metadata server). google-auth
does the real OAuth work; this module only gives it an httpx transport (so the
``requests`` package is not needed) and caches one credential object per source,
refreshing its token shortly before expiry under a lock, so threads and asyncio
tasks share one refresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import AuthenticationError, BadRequestError

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
REFRESH_MARGIN = dt.timedelta(minutes=5)

PROJECT_SOURCES = ("vertex_project", "vertex_ai_project")
LOCATION_SOURCES = ("vertex_location", "vertex_ai_location")
PROJECT_ENV = ("VERTEXAI_PROJECT", "VERTEX_AI_PROJECT")
LOCATION_ENV = ("VERTEXAI_LOCATION", "VERTEX_AI_LOCATION")


class _HttpxAuthResponse:
    def __init__(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self.status = status
        self.headers = headers
        self.data = data


class HttpxAuthRequest:
    """google-auth's transport interface over a small private httpx client."""

    def __init__(self) -> None:
        import httpx

        self._client = httpx.Client(timeout=30.0)

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Any = None,
        timeout: Any = None,
        **_: Any,
    ) -> _HttpxAuthResponse:
        import google.auth.exceptions
        import httpx

        try:
            resp = self._client.request(method, url, content=body, headers=headers, timeout=timeout or 30.0)
        except httpx.HTTPError as exc:
            raise google.auth.exceptions.TransportError(f"{type(exc).__name__} contacting {url}") from exc
        return _HttpxAuthResponse(resp.status_code, resp.headers, resp.content)


_transport: HttpxAuthRequest | None = None


def auth_transport() -> HttpxAuthRequest:
    global _transport
    if _transport is None:
        _transport = HttpxAuthRequest()
    return _transport


@dataclass
class CachedCredential:
    """One credential source with its token; ``lock`` serializes refreshes.

    Concurrent 401s of one credential collapse into one refresh: a forced refresh is
    skipped when the token the caller saw rejected (``rejected``) was already replaced,
    so every request that failed with the old token retries with the new one instead of
    minting its own (24 concurrent 401s → 1 refresh, threads and asyncio alike). Without
    ``rejected``, only callers that waited for the lock while a refresh ran share it.
    """

    credentials: Any
    project: str | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    refreshes: int = 0  # completed refreshes (tests and diagnostics)

    def token(self, force: bool = False, rejected: str | None = None) -> str:
        if not force and self._fresh():
            return self.credentials.token
        seen = self.refreshes
        with self.lock:
            if force and self._replaced(rejected, seen):
                return self.credentials.token
            if force or not self._fresh():
                self._refresh()
            return self.credentials.token

    def _replaced(self, rejected: str | None, seen: int) -> bool:
        """Whether the token a failed request used was already replaced by another caller's refresh."""
        current = self.credentials.token
        if not current:
            return False
        if rejected is not None:
            return current != rejected
        return self.refreshes != seen  # a refresh finished while this caller waited for the lock

    def cached(self) -> str | None:
        """The token if still fresh, else None: no lock, no I/O, so async callers can skip a thread hop."""
        return self.credentials.token if self._fresh() else None

    def _fresh(self) -> bool:
        creds = self.credentials
        if not creds.token:
            return False
        expiry = getattr(creds, "expiry", None)
        if expiry is None:
            return True
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        return expiry - now > REFRESH_MARGIN

    def _refresh(self) -> None:
        import google.auth.exceptions

        try:
            self.credentials.refresh(auth_transport())
        except google.auth.exceptions.GoogleAuthError as exc:
            raise AuthenticationError(
                f"could not obtain a Google access token: {_first_line(exc)}", status_code=401
            ) from None
        except (
            Exception
        ) as exc:  # a malformed credential (token_uri None, wrong types) fails inside google-auth
            raise AuthenticationError(
                f"could not obtain a Google access token: the credentials are malformed ({type(exc).__name__})",
                status_code=401,
            ) from None
        if not isinstance(self.credentials.token, str) or not self.credentials.token:
            raise AuthenticationError("the token endpoint returned no access token", status_code=401)
        self.refreshes += 1


_cache: dict[str, CachedCredential] = {}
_cache_lock = threading.Lock()


_by_identity: dict[int, tuple[Any, CachedCredential]] = {}


def credential_for(vertex_credentials: Any) -> CachedCredential:
    """The cached credential for a source (resolving it the first time it is seen).

    Callers usually pass the same object on every call, so an identity check comes
    first; hashing the source (a key file's JSON) happens once per object.
    """
    if vertex_credentials is not None:
        hit = _by_identity.get(id(vertex_credentials))
        if hit is not None and hit[0] is vertex_credentials:
            return hit[1]
    key = _cache_key(vertex_credentials)
    cached = _cache.get(key)
    if cached is None:
        with _cache_lock:
            if key not in _cache:
                _cache[key] = _load(vertex_credentials)
            cached = _cache[key]
    if vertex_credentials is not None:
        if len(_by_identity) > 256:
            _by_identity.clear()
        _by_identity[id(vertex_credentials)] = (vertex_credentials, cached)
    return cached


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _by_identity.clear()


def _cache_key(source: Any) -> str:
    if source is None:
        env = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        return f"env:{env}" if env else "adc:" + os.environ.get("GCE_METADATA_HOST", "")
    try:
        if isinstance(source, Mapping):
            text = json.dumps(source, sort_keys=True, default=repr)
            return "info:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        if isinstance(source, str):
            return "str:" + hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    except (TypeError, ValueError, RecursionError):
        raise BadRequestError(
            "vertex_credentials: a credentials object must be JSON (string keys, JSON values)",
            param="vertex_credentials",
        ) from None
    if hasattr(source, "refresh") and hasattr(source, "token"):
        return f"obj:{id(source)}"
    raise BadRequestError(
        "vertex_credentials must be a JSON string, a key-file path, a dict or google-auth credentials, "
        f"got {type(source).__name__}",
        param="vertex_credentials",
    )


# Fields of a key file that google-auth reads as strings (type, token endpoint, audience...): a wrong type
# is a clear error here instead of a TypeError inside google-auth.
_STRING_FIELDS = (
    "type",
    "client_email",
    "private_key",
    "private_key_id",
    "token_uri",
    "audience",
    "subject_token_type",
    "service_account_impersonation_url",
    "client_id",
    "client_secret",
    "refresh_token",
    "project_id",
    "quota_project_id",
    "universe_domain",
)


def _check_info(info: Any) -> dict[str, Any]:
    if not isinstance(info, dict):
        raise BadRequestError(
            f"vertex_credentials must be a JSON object, got {type(info).__name__}", param="vertex_credentials"
        )
    for name in _STRING_FIELDS:
        if name in info and not isinstance(info[name], str):
            raise BadRequestError(
                f"vertex_credentials: field {name!r} must be a string, got {type(info[name]).__name__}",
                param="vertex_credentials",
            )
    if info.get("type") == "service_account" and "token_uri" in info and not info["token_uri"]:
        raise BadRequestError("vertex_credentials: token_uri is empty", param="vertex_credentials")
    source = info.get("credential_source")
    if source is not None and not isinstance(source, dict):
        raise BadRequestError(
            "vertex_credentials: credential_source must be an object", param="vertex_credentials"
        )
    return info


def _load(source: Any) -> CachedCredential:
    import google.auth
    import google.auth.exceptions

    try:
        if source is None:
            env = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
            if env:
                creds, project = google.auth.load_credentials_from_file(env, scopes=SCOPES)
            else:
                creds, project = google.auth.default(scopes=SCOPES, request=auth_transport())
        elif hasattr(source, "refresh") and hasattr(source, "token"):
            creds, project = source, getattr(source, "project_id", None)
        else:
            info = _check_info(_credential_info(source))
            creds, project = google.auth.load_credentials_from_dict(info, scopes=SCOPES)
            project = project or info.get("project_id") or info.get("quota_project_id")
    except google.auth.exceptions.GoogleAuthError as exc:
        raise AuthenticationError(
            "no usable Google credentials: pass vertex_credentials (JSON string, dict or file path), "
            f"set GOOGLE_APPLICATION_CREDENTIALS, or configure Application Default Credentials ({_first_line(exc)})",
            status_code=401,
        ) from None
    except BadRequestError:
        raise
    except Exception as exc:  # google-auth raises TypeError/ValueError/KeyError on malformed key files
        raise BadRequestError(
            f"vertex_credentials are malformed: google-auth could not load them ({type(exc).__name__})",
            param="vertex_credentials",
        ) from None
    if project is not None and not isinstance(project, str):
        project = None
    return CachedCredential(creds, project)


def _credential_info(source: Any) -> dict[str, Any]:
    if isinstance(source, Mapping):
        return dict(source)
    text = source.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequestError(
                f"vertex_credentials is not valid JSON: {exc.msg} at line {exc.lineno}"
            ) from None
        except RecursionError:
            raise BadRequestError("vertex_credentials: JSON nested too deeply") from None
    try:
        with open(os.path.expanduser(text), encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise BadRequestError("vertex_credentials is neither JSON nor the path of an existing file") from None
    except json.JSONDecodeError as exc:
        raise BadRequestError(f"the vertex_credentials file is not valid JSON: {exc.msg}") from None
    except (OSError, ValueError, RecursionError) as exc:  # a directory, a name too long, NUL, not UTF-8
        raise BadRequestError(
            f"vertex_credentials is neither JSON nor a readable key file ({type(exc).__name__})",
            param="vertex_credentials",
        ) from None


def _first_line(exc: BaseException) -> str:
    """A google-auth message without anything that could carry a secret (first line only)."""
    text = str(exc.args[0] if exc.args else exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__


def resolve_project(options: Mapping[str, Any], settings: Any, credential: CachedCredential | None) -> str:
    for name in PROJECT_SOURCES:
        if options.get(name):
            return options[name]
    if getattr(settings, "vertex_project", None):
        return settings.vertex_project
    for name in PROJECT_ENV:
        if os.environ.get(name):
            return os.environ[name]
    if credential is not None and credential.project:
        return credential.project
    raise BadRequestError(
        "no Vertex AI project: looked for the vertex_project / vertex_ai_project argument, engine.vertex_project, "
        "the VERTEXAI_PROJECT and VERTEX_AI_PROJECT environment variables, and the project of the credentials",
        param="vertex_project",
    )


DEFAULT_LOCATION = "us-central1"  # LiteLLM's default when nothing names a location


def resolve_location(
    options: Mapping[str, Any], settings: Any, capabilities: Mapping[str, Any], model: str | None = None
) -> str:
    """The location: the call, engine settings, the environment, the model's default (its first
    ``locations`` entry when it has no ``default_location``), then us-central1.

    A model the spec serves only in some ``locations`` (e.g. ``global``) is refused elsewhere
    with an error naming them, before any request is made.
    """
    allowed = capabilities.get("locations")
    default = capabilities.get("default_location")
    if allowed and default not in allowed:  # a family-wide default the model is not served in
        default = allowed[0]
    location = _given_location(options, settings) or default or DEFAULT_LOCATION
    if not isinstance(location, str) or not location:
        raise BadRequestError("vertex_location must be a non-empty string", param="vertex_location")
    if allowed and location not in allowed:
        raise BadRequestError(
            f"{model or 'this model'} is served only in {', '.join(allowed)}, not in {location!r}; "
            "pass vertex_location with one of them (or leave it unset for the model's default)",
            model=model,
            param="vertex_location",
        )
    return location


def _given_location(options: Mapping[str, Any], settings: Any) -> Any:
    for name in LOCATION_SOURCES:
        if options.get(name):
            return options[name]
    if getattr(settings, "vertex_location", None):
        return settings.vertex_location
    for name in LOCATION_ENV:
        if os.environ.get(name):
            return os.environ[name]
    return None
