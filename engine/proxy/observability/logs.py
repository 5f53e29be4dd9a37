"""``vertexlate serve --log-format json``: one JSON object per log line, with the request id, and no secret.

Why scrub here too: log messages are written so as never to quote a key, but a library's
message (an exception text, an access-log URL with ``?key=...``) is not ours to control; the
formatter masks bearer tokens, ``sk-`` style keys, secrets the proxy registered (its master and
config keys) and the values of secret-named query parameters and extra fields
(:mod:`engine.redact`), in every field.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from engine.proxy.observability import request_id
from engine.redact import MASK, is_secret_name

# Bearer tokens, OpenAI/LiteLLM style keys, Google API keys, and OAuth access tokens.
PATTERNS = re.compile(
    r"(?i)(bearer\s+)[^\s\"',;]+|\bsk-[A-Za-z0-9_\-]{6,}|\bAIza[0-9A-Za-z_\-]{20,}|\bya29\.[0-9A-Za-z_\-.]+"
)
_SECRETS: set[str] = set()

# LogRecord attributes that are not "extra" fields.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message"}


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears in a log line (the proxy registers its master and config keys)."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def scrub(text: str) -> str:
    """``text`` with every recognizable secret replaced by ``***``."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, MASK)
    return PATTERNS.sub(lambda m: (m.group(1) or "") + MASK, text)


def scrub_path(path: str) -> str:
    """A URL path whose secret-named query parameters (``?key=``, ``?access_token=``) are masked."""
    base, sep, query = path.partition("?")
    if not sep:
        return scrub(path)
    pairs = [(k, MASK if is_secret_name(k) else v) for k, v in parse_qsl(query, keep_blank_values=True)]
    return scrub(base + "?" + urlencode(pairs, safe="*"))


def _value(name: str, value: Any) -> Any:
    if is_secret_name(name):
        return MASK
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """Log records as single-line JSON: time, level, logger, message, request_id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            entry.update(
                message=f"{method} {scrub_path(str(path))} {status}",
                client=str(client),
                method=str(method),
                path=scrub_path(str(path)),
                http_version=str(version),
                status=status,
            )
        else:
            entry["message"] = scrub(record.getMessage())
        rid = getattr(record, "request_id", None) or request_id.current()
        if rid is not None:
            entry["request_id"] = rid
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in entry:
                entry[name] = _value(name, value)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def uvicorn_log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's ``log_config`` with every logger (the proxy's, uvicorn's, the access log) as JSON on stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "engine.proxy.observability.logs.JsonFormatter"}},
        "handlers": {"json": handler},
        "root": {"handlers": ["json"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "INFO", "propagate": True},
        },
    }
