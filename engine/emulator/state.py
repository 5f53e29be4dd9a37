"""Everything the emulator remembers between requests.

Why one object: the in-process :class:`~engine.emulator.server.Emulator`, the
HTTP control API and every handler must see the same scripts, credentials and
request log; a single lock-protected object shared by reference keeps that
simple and thread-safe (uvicorn runs in its own thread, tests in another).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

DEFAULT_PROJECT = "emulator-project"
TOKEN_LIFETIME_SECONDS = 3599
DEFAULT_ACCOUNT_EMAIL = f"emulator-default@{DEFAULT_PROJECT}.iam.gserviceaccount.com"


@dataclass(frozen=True)
class ServiceAccount:
    """A credential the emulator trusts: its email and public key (private key never kept)."""

    email: str
    key_id: str
    public_key: RSAPublicKey
    project_id: str


@dataclass(frozen=True)
class AccessToken:
    """An access token the emulator handed out, and to whom."""

    email: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class EmulatorState:
    """Shared, lock-protected state of one emulator instance."""

    job_step_seconds: float = 0.2
    # anthropic_version values accepted besides the dated ones (engine/emulator/anthropic.py).
    anthropic_versions: tuple[str, ...] = ("vertex-2023-10-16",)
    # Cloud Storage (e.g. a gcp-storage-emulator URL) where succeeded batch jobs write predictions.jsonl.
    storage_url: str | None = None
    # Answer any publisher model name (the emulator's behaviour before it had a catalogue).
    accept_any_model: bool = False
    # Strict mode: refuse non-canonical proto3 JSON spellings (snake_case names, integer enums).
    strict: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    accounts: dict[str, ServiceAccount] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    api_keys: set[str] = field(default_factory=set)
    scripts: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    unknown_models: set[str] = field(default_factory=set)
    accepted_models: set[str] = field(default_factory=set)
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # The built-in Cloud Storage (engine/emulator/storage.py): bucket -> object name -> Blob.
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: int = 0
    clock_offset: float = 0.0

    # -- credentials -----------------------------------------------------
    def trust(self, account: ServiceAccount) -> None:
        """Accept JWTs signed by ``account``'s key from now on."""
        with self.lock:
            self.accounts[account.key_id] = account

    def account_for(self, email: str, key_id: str | None) -> ServiceAccount | None:
        """The trusted account with this email (and key id, when the JWT names one)."""
        with self.lock:
            if key_id is not None:
                found = self.accounts.get(key_id)
                return found if found and found.email == email else None
            return next((a for a in self.accounts.values() if a.email == email), None)

    def issue_token(self, email: str, scopes: tuple[str, ...]) -> tuple[str, int]:
        """A fresh opaque access token (``ya29.``-prefixed like Google's) and its lifetime."""
        token = "ya29.emulator-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = AccessToken(email, scopes, time.time() + TOKEN_LIFETIME_SECONDS)
        return token, TOKEN_LIFETIME_SECONDS

    def token_valid(self, token: str) -> bool:
        """True when ``token`` was issued here and has not expired."""
        with self.lock:
            found = self.tokens.get(token)
        return found is not None and found.expires_at > time.time()

    def issue_api_key(self) -> str:
        """A fresh API key (``AIza``-prefixed and 39 characters long, like Google's) for express-mode calls."""
        key = "AIza" + secrets.token_urlsafe(26)[:35]
        with self.lock:
            self.api_keys.add(key)
        return key

    def api_key_valid(self, key: str) -> bool:
        """True when ``key`` was issued here (keys stay valid across :meth:`reset`, as credentials do)."""
        with self.lock:
            return key in self.api_keys

    # -- scripting ---------------------------------------------------------
    def push_script(self, model: str, responses: list[dict[str, Any]]) -> None:
        """Queue ``responses`` for the next calls to ``model`` (consumed in order)."""
        with self.lock:
            self.scripts.setdefault(model, deque()).extend(responses)

    def pop_script(self, model: str) -> dict[str, Any] | None:
        """The next scripted response for ``model``, or None for the default echo."""
        with self.lock:
            queue = self.scripts.get(model)
            return queue.popleft() if queue else None

    def mark_unknown(self, models: list[str]) -> None:
        """Make later calls to these models answer 404 NOT_FOUND."""
        with self.lock:
            self.unknown_models.update(models)

    def is_unknown(self, model: str) -> bool:
        """True when a test marked ``model`` as unknown."""
        with self.lock:
            return model in self.unknown_models

    def accept_models(self, models: list[str]) -> None:
        """Serve these model ids although the catalogue does not list them (made-up names in tests)."""
        with self.lock:
            self.accepted_models.update(models)

    def is_accepted(self, model: str) -> bool:
        """True when a test asked to serve ``model`` outside the catalogue."""
        with self.lock:
            return model in self.accepted_models

    # -- request log -----------------------------------------------------
    def record(self, entry: dict[str, Any]) -> None:
        """Append one request to the log."""
        with self.lock:
            self.log.append(entry)

    def requests(self, model: str | None = None) -> list[dict[str, Any]]:
        """Logged requests, optionally only those addressed to ``model``."""
        with self.lock:
            return [dict(e) for e in self.log if model is None or e.get("model") == model]

    # -- long-running resources -------------------------------------------
    def now(self) -> float:
        """Monotonic seconds as jobs see them (shifted by :meth:`advance`)."""
        with self.lock:
            return time.monotonic() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the jobs' clock forward, so tests can step job states without waiting."""
        with self.lock:
            self.clock_offset += seconds

    def next_id(self) -> str:
        """A numeric resource id, unique within this emulator (Google ids are numeric)."""
        with self.lock:
            self.counter += 1
            return str(1_000_000_000_000_000_000 + self.counter * 7919 + secrets.randbelow(7919))

    def collection(self, kind: str) -> dict[str, dict[str, Any]]:
        """The live store for one resource kind (``cachedContents``, ...), keyed by name."""
        with self.lock:
            return self.resources.setdefault(kind, {})

    def reset(self) -> None:
        """Forget scripts, log, unknown and accepted models and resources; keep credentials and tokens.

        Why keep credentials: a client holding a refreshed token should keep working
        across test cases that share one emulator.
        """
        with self.lock:
            self.scripts.clear()
            self.log.clear()
            self.unknown_models.clear()
            self.accepted_models.clear()
            self.resources.clear()
            self.buckets.clear()
