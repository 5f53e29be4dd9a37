"""One test per hardening defect of issue 11 (library side): each fails on the code before the fix.

Real components throughout: the emulator over real HTTP, google-auth's service-account flow, a real
loopback HTTP server for media, httpx; no mocks of the engine's own code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import engine
from engine import auth
from engine.transforms import gemini_media
from tests.requires import need

from .strategies import SURROGATE, nest

GEMINI = "vertex_ai/gemini-2.5-flash"
CLAUDE = "vertex_ai/claude-3-5-sonnet-v2@20241022"
LLAMA = "vertex_ai/meta/llama-3.1-405b-instruct-maas"
HELLO = [{"role": "user", "content": "hi"}]
CHAT_MODELS = (GEMINI, CLAUDE, LLAMA)


def _paths(emulator: Any) -> list[str]:
    return [r["path"] for r in emulator.requests() if r["path"] != "/token"]


# --------------------------------------------------------------------------- URL-bound values


@pytest.mark.parametrize(
    "location", ["evil.com#", "evil.com/", "evil.com?", "x@evil.com", "evil.com:8080/", "US-CENTRAL1", ""]
)
@pytest.mark.parametrize("model", CHAT_MODELS)
def test_injected_location_is_refused_before_any_request(
    emulator: Any, service_account: dict[str, Any], model: str, location: str
) -> None:
    emulator.reset()
    engine.vertex_location = location or None  # also from the module setting, not only the call
    kwargs = {"vertex_credentials": service_account, "vertex_project": "my-project"}
    with pytest.raises(engine.BadRequestError) as info:
        engine.completion(model=model, messages=HELLO, vertex_location=location or "evil.com#", **kwargs)
    assert info.value.param == "vertex_location"
    assert _paths(emulator) == []  # nothing was sent anywhere (the call had no api_base: it would be Google)


@pytest.mark.parametrize(
    "project", ["evil.com#", "a/b", "p?x=1", "x@y", "..", "proj ect", "-leading", "trailing-"]
)
def test_injected_project_is_refused(vx: dict[str, Any], emulator: Any, project: str) -> None:
    with pytest.raises(engine.BadRequestError) as info:
        engine.completion(model=GEMINI, messages=HELLO, **vx, vertex_project=project)
    assert info.value.param == "vertex_project"
    assert _paths(emulator) == []


@pytest.mark.parametrize(
    "project", ["my-project", "example.com:my-project", "123456789012", "adroit-crow-413218"]
)
def test_google_project_forms_reach_the_url(vx: dict[str, Any], emulator: Any, project: str) -> None:
    engine.completion(model=GEMINI, messages=HELLO, **vx, vertex_project=project)
    assert _paths(emulator) == [
        f"/v1/projects/{project}/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    ]


@pytest.mark.parametrize(
    "model",
    [
        "gemini-x#frag",
        "gemini-x?alt=media",
        "gemini-../../x",
        "gemini/../x",
        f"gemini-{SURROGATE}",
        "gemini-a:b",
    ],
)
def test_model_names_cannot_change_the_path(vx: dict[str, Any], emulator: Any, model: str) -> None:
    with pytest.raises((engine.BadRequestError, engine.NotFoundError)):  # refused, or no spec serves it
        engine.completion(model=f"vertex_ai/{model}", messages=HELLO, **vx)
    assert _paths(emulator) == []


def test_api_base_still_chooses_the_host(vx: dict[str, Any], emulator: Any) -> None:
    engine.completion(model=GEMINI, messages=HELLO, **vx)
    assert len(_paths(emulator)) == 1


# --------------------------------------------------------------------------- engine options


BAD_OPTIONS = [
    ("stream", "yes"),
    ("stream_options", "y"),
    ("stream_options", {"include_usage": "yes"}),
    ("timeout", ""),
    ("timeout", []),
    ("timeout", float("nan")),
    ("timeout", -1),
    ("timeout", 1e308),
    ("request_timeout", "10"),
    ("num_retries", "x"),
    ("max_retries", -1),
    ("drop_params", "true"),
    ("vertex_project", [None]),
    ("vertex_location", 5),
    ("vertex_credentials", 5),
    ("vertex_credentials", [1]),
    ("vertex_credentials", b"{}"),
    ("api_base", 5),
    ("api_base", "ftp://host"),
    ("base_url", "http://"),
    ("extra_headers", "x-a: b"),
    ("extra_headers", ["x-a"]),
    ("extra_headers", {1: "v"}),
    ("extra_headers", {"é": "v"}),
    ("extra_headers", {"x-a": None}),
    ("extra_headers", {"x-a": "v\r\nInjected: yes"}),
    ("extra_headers", {"x-a": "é"}),
    ("extra_body", "x"),
]


@pytest.mark.parametrize(("option", "value"), BAD_OPTIONS, ids=[f"{o}={v!r}"[:40] for o, v in BAD_OPTIONS])
def test_bad_option_is_a_bad_request_naming_it(
    vx: dict[str, Any], emulator: Any, option: str, value: Any
) -> None:
    with pytest.raises(engine.BadRequestError) as info:
        engine.completion(model=GEMINI, messages=HELLO, **{**vx, option: value})
    assert info.value.param == option and option in info.value.message
    assert _paths(emulator) == []


def test_a_huge_wrong_value_gives_a_short_error(vx: dict[str, Any]) -> None:
    huge = "x" * 5_000_000
    for kwargs in ({"timeout": huge}, {"messages": huge}, {"temperature": huge}, {"vertex_location": huge}):
        with pytest.raises(engine.BadRequestError) as info:
            engine.completion(model=GEMINI, **{"messages": HELLO, **vx, **kwargs})
        assert len(str(info.value)) < 500


# --------------------------------------------------------------------------- credentials


@pytest.fixture
def key_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def test_credential_paths_that_open_cannot_read(vx: dict[str, Any], key_dir: Path, fresh_auth: None) -> None:
    not_utf8 = os.fsdecode(bytes(key_dir / "x") + b"\xff.json")  # a surrogate-escaped name
    for path in (
        str(key_dir),
        not_utf8,
        "/" + "a" * 5000,
        f"{key_dir}/a\x00b",
        str(key_dir / "missing.json"),
    ):
        with pytest.raises(engine.BadRequestError, match="vertex_credentials"):
            engine.completion(model=GEMINI, messages=HELLO, **{**vx, "vertex_credentials": path})


def test_key_file_that_is_not_utf8(vx: dict[str, Any], key_dir: Path, fresh_auth: None) -> None:
    path = key_dir / "key.json"
    path.write_bytes(b'{"type": "service_account", "x": "\xff"}')
    with pytest.raises(engine.BadRequestError, match="vertex_credentials"):
        engine.completion(model=GEMINI, messages=HELLO, **{**vx, "vertex_credentials": str(path)})


@pytest.mark.parametrize(
    "override",
    [{"token_uri": None}, {"token_uri": 5}, {"private_key": None}, {"client_email": ["x"]}, {"type": 5}],
    ids=str,
)
def test_malformed_service_account_is_typed(
    vx: dict[str, Any], service_account: dict[str, Any], override: dict[str, Any], fresh_auth: None
) -> None:
    with pytest.raises(engine.BadRequestError) as info:
        engine.completion(
            model=GEMINI, messages=HELLO, **{**vx, "vertex_credentials": {**service_account, **override}}
        )
    assert info.value.param == "vertex_credentials"
    assert "PRIVATE KEY" not in str(info.value)


def test_external_account_with_non_string_audience(vx: dict[str, Any], fresh_auth: None) -> None:
    credential = {
        "type": "external_account",
        "audience": 5,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "http://127.0.0.1:9/token",
        "credential_source": {"file": "/nonexistent"},
    }
    with pytest.raises(engine.BadRequestError, match="audience"):
        engine.completion(model=GEMINI, messages=HELLO, **{**vx, "vertex_credentials": credential})


# --------------------------------------------------------------------------- message shapes


SHAPES = [
    [{"role": "assistant", "content": "x", "tool_calls": 5}, {"role": "user", "content": "hi"}],
    [{"role": "assistant", "content": "x", "thinking_blocks": 5}, {"role": "user", "content": "hi"}],
    [{"role": "user", "content": [{"type": "file", "file": 5}]}],
    [{"role": "assistant", "content": "x", "tool_calls": [5]}, {"role": "user", "content": "hi"}],
    [{"role": "assistant", "tool_calls": [{"id": "1", "function": {"name": "f", "arguments": "[1]"}}]}],
    [{"role": "user", "content": f"a{SURROGATE}b"}],
    [{"role": "user", "content": [{"type": "text", "text": SURROGATE}]}],
    [{"role": "user", "content": nest(5000)}],
    nest(5000, {"role": "user", "content": "x"}),
]


@pytest.mark.parametrize("messages", SHAPES, ids=range(len(SHAPES)))
@pytest.mark.parametrize("model", CHAT_MODELS)
def test_malformed_messages_are_bad_requests_on_every_family(
    vx: dict[str, Any], emulator: Any, model: str, messages: Any
) -> None:
    with pytest.raises(engine.BadRequestError):
        engine.completion(model=model, messages=messages, **vx)
    assert _paths(emulator) == []


@pytest.mark.parametrize("model", ["vertex_ai/codestral@2405", "vertex_ai/text-bison@002"])
def test_surrogates_and_depth_in_prompts(vx: dict[str, Any], model: str) -> None:
    for prompt in (SURROGATE, nest(5000)):
        with pytest.raises(engine.BadRequestError):
            engine.text_completion(model=model, prompt=prompt, **vx)


def test_nan_never_reaches_the_wire(vx: dict[str, Any], emulator: Any) -> None:
    for model in CHAT_MODELS:
        with pytest.raises(engine.BadRequestError):
            engine.completion(model=model, messages=HELLO, temperature=float("nan"), **vx)
        with pytest.raises(engine.BadRequestError):
            engine.completion(model=model, messages=HELLO, extra_body={"x": float("inf")}, **vx)
    assert _paths(emulator) == []


# --------------------------------------------------------------------------- media URLs


FORBIDDEN_URLS = [
    "file:///etc/passwd",
    "ftp://example.com/a.png",
    "http://169.254.169.254/latest/meta-data/a.png",
    "http://[fe80::1]/a.png",
    "http://127.0.0.1/a.png",
    "http://localhost/a.png",
    "http://2130706433/a.png",
]


@pytest.mark.parametrize("url", FORBIDDEN_URLS)
@pytest.mark.parametrize("model", CHAT_MODELS)
@pytest.mark.parametrize("kind", ["image_url", "file"])
def test_forwarded_media_urls_follow_the_same_rules(
    vx: dict[str, Any], emulator: Any, model: str, url: str, kind: str
) -> None:
    part = (
        {"type": "image_url", "image_url": {"url": url}}
        if kind == "image_url"
        else {"type": "file", "file": {"file_id": url, "format": "image/png"}}
    )
    with pytest.raises(engine.BadRequestError):
        engine.completion(model=model, messages=[{"role": "user", "content": [part]}], **vx)
    assert _paths(emulator) == []


@pytest.mark.parametrize("model", [GEMINI, LLAMA])  # Claude downloads media itself (no network in tests)
def test_public_https_media_is_still_forwarded(vx: dict[str, Any], emulator: Any, model: str) -> None:
    part = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    engine.completion(model=model, messages=[{"role": "user", "content": [part]}], **vx)
    assert "https://example.com/cat.png" in json.dumps(emulator.requests()[-1]["body"])


class _Media(BaseHTTPRequestHandler):
    hits: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).hits.append((self.path, self.headers.get("host")))
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "http://rebind.test/pixel.png")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"\x89PNG")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def media_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    _Media.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Media)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(engine, "fetch_media_urls", True, raising=False)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _parts(url: str) -> list[dict[str, Any]]:
    from engine.registry import default_registry
    from engine.request import build_body

    resolved = default_registry().resolve("gemini-2.5-flash", "chat")
    op = resolved.family.operations["chat"]
    messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
    return build_body(resolved, op, {"messages": messages}, engine, False).body["contents"][0]["parts"]


def test_rebinding_resolver_cannot_reach_loopback(media_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """First answer public, every later answer 127.0.0.1: the connection goes to the checked address only."""
    answers: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        answers.append(host)
        return ["93.184.216.34"] if len(answers) == 1 else ["127.0.0.1"]

    monkeypatch.setattr(gemini_media, "resolver", rebinding)
    with pytest.raises(engine.BadRequestError, match="fetching"):
        _parts(
            f"http://rebind.test:{media_server}/pixel.png"
        )  # the pinned public address is unreachable here
    assert _Media.hits == []  # never connected to 127.0.0.1
    assert answers == ["rebind.test"]  # resolved once, and that answer was used


def test_resolver_answering_loopback_is_refused(media_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gemini_media, "resolver", lambda host, port: ["8.8.8.8", "127.0.0.1"])
    with pytest.raises(engine.BadRequestError, match="non-public address 127.0.0.1"):
        _parts(f"http://rebind.test:{media_server}/pixel.png")
    assert _Media.hits == []


def test_every_redirect_hop_is_resolved_checked_and_pinned(
    media_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "media_fetch_allow_private", True)
    seen: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        seen.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(gemini_media, "resolver", resolver)
    # The redirect names port 80 on rebind.test; pin it to the test server by resolving to it and
    # rewriting the hop's port through a second redirect target on the same server.
    parts = _parts(f"http://media.test:{media_server}/pixel.png")
    assert parts == [{"inlineData": {"mimeType": "image/png", "data": "iVBORw=="}}]
    assert seen == ["media.test"] and _Media.hits == [("/pixel.png", f"media.test:{media_server}")]
    monkeypatch.setattr(engine, "media_fetch_allow_private", False)
    with pytest.raises(engine.BadRequestError, match="non-public"):
        _parts(f"http://media.test:{media_server}/hop")


def test_a_redirect_hop_goes_through_the_resolver_seam(
    media_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client never follows a redirect itself: the hop's host is resolved (and checked) by the seam.

    The loopback rule cannot show it (the first hop is already loopback), so the seam refuses the
    second host: a client that followed the 302 on its own would fail on DNS instead, unchecked.
    """
    monkeypatch.setattr(engine, "media_fetch_allow_private", True)
    seen: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        seen.append(host)
        if host == "rebind.test":
            raise OSError("no such host")
        return ["127.0.0.1"]

    monkeypatch.setattr(gemini_media, "resolver", resolver)
    with pytest.raises(engine.BadRequestError, match="cannot resolve media host 'rebind.test'"):
        _parts(f"http://media.test:{media_server}/hop")
    assert seen == ["media.test", "rebind.test"]
    assert _Media.hits == [("/hop", f"media.test:{media_server}")]


# --------------------------------------------------------------------------- secrets in logs


def test_verbose_logging_redacts_every_secret_header(
    vx: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(engine, "set_verbose", True)
    headers = {
        "X-Goog-Api-Key": "goog-secret-1",
        "Proxy-Authorization": "Basic proxy-secret-2",
        "x-api-key": "api-secret-3",
        "API-KEY": "api-secret-4",
        "Cookie": "session=cookie-secret-5",
        "x-trace": "visible-value",
    }
    with caplog.at_level(logging.DEBUG, logger="vertexlate"):
        engine.completion(model=GEMINI, messages=HELLO, extra_headers=headers, **vx)
    text = caplog.text
    assert "visible-value" in text and "Bearer ***" in text
    for secret in (
        "goog-secret-1",
        "proxy-secret-2",
        "api-secret-3",
        "api-secret-4",
        "cookie-secret-5",
        "ya29.",
    ):
        assert secret not in text


# --------------------------------------------------------------------------- one refresh for concurrent 401s


CONCURRENT = 24


def _revoke_all(emulator: Any, service_account: dict[str, Any]) -> auth.CachedCredential:
    credential = auth.credential_for(service_account)
    emulator.state.tokens.clear()  # every cached token is now unknown: each request gets a 401
    return credential


def test_concurrent_401s_refresh_once_threads(emulator: Any, vx: dict[str, Any]) -> None:
    engine.completion(model=GEMINI, messages=HELLO, **vx)  # a token is cached
    credential = _revoke_all(emulator, vx["vertex_credentials"])
    before, barrier, errors = credential.refreshes, threading.Barrier(CONCURRENT), []

    def worker() -> None:
        barrier.wait()
        try:
            engine.completion(model=GEMINI, messages=HELLO, **vx)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert credential.refreshes - before == 1
    assert len(emulator.state.tokens) == 1
    # the first call, then each of the 24 once or, when it was sent with the revoked token, twice (the 401 and
    # its retry); at least one was (it caused the refresh). On a loaded machine some start after the refresh.
    assert 2 + CONCURRENT <= len(emulator.requests("gemini-2.5-flash")) <= 1 + 2 * CONCURRENT


async def test_concurrent_401s_refresh_once_asyncio(emulator: Any, vx: dict[str, Any]) -> None:
    await engine.acompletion(model=GEMINI, messages=HELLO, **vx)
    credential = _revoke_all(emulator, vx["vertex_credentials"])
    before = credential.refreshes
    await asyncio.gather(*[engine.acompletion(model=GEMINI, messages=HELLO, **vx) for _ in range(CONCURRENT)])
    assert credential.refreshes - before == 1
    assert len(emulator.state.tokens) == 1


# --------------------------------------------------------------------------- limits: engine and emulator


def test_engine_checks_n_and_dimensions_against_the_model(vx: dict[str, Any], emulator: Any) -> None:
    for n in (2**63, 1e308, 5):
        with pytest.raises(engine.BadRequestError, match="'n'"):
            engine.image_generation(model="vertex_ai/imagen-3.0-generate-002", prompt="x", n=n, **vx)
    engine.image_generation(model="vertex_ai/imagegeneration@006", prompt="x", n=8, **vx)
    for model in ("vertex_ai/openai/1234567890", "vertex_ai/text-embedding-005"):
        with pytest.raises(engine.BadRequestError, match="dimensions"):
            engine.embedding(model=model, input="x", dimensions=10**9, **vx)
    assert len(_paths(emulator)) == 1


def _token(emulator: Any, service_account: dict[str, Any]) -> str:
    return auth.credential_for(service_account).token()


PREDICT = "/v1/projects/p-123456/locations/us-central1/publishers/google/models/{}:predict"


@pytest.mark.parametrize(
    ("model", "parameters", "field"),
    [
        ("imagen-3.0-generate-002", {"sampleCount": 2**63}, "sampleCount"),
        ("imagen-3.0-generate-002", {"sampleCount": 1e308}, "sampleCount"),
        ("imagen-3.0-generate-002", {"sampleCount": 5}, "sampleCount"),
        ("imagegeneration@006", {"sampleCount": 9}, "sampleCount"),
        ("text-embedding-005", {"outputDimensionality": 10**9}, "outputDimensionality"),
        ("multimodalembedding@001", {"dimension": 10**9}, "dimension"),
    ],
)
def test_emulator_enforces_predict_limits(
    emulator: Any, service_account: dict[str, Any], model: str, parameters: dict[str, Any], field: str
) -> None:
    instance = {"prompt": "x"} if "image" in model else {"content": "x"} if "text" in model else {"text": "x"}
    reply = httpx.post(
        emulator.url + PREDICT.format(model),
        json={"instances": [instance], "parameters": parameters},
        headers={"authorization": f"Bearer {_token(emulator, service_account)}"},
        timeout=10,
    )
    assert reply.status_code == 400 and field in reply.json()["error"]["message"]


def test_emulator_enforces_model_garden_dimensions(emulator: Any, service_account: dict[str, Any]) -> None:
    reply = httpx.post(
        emulator.url + "/v1/projects/p-123456/locations/us-central1/endpoints/123/embeddings",
        json={"input": "x", "dimensions": 10**9},
        headers={"authorization": f"Bearer {_token(emulator, service_account)}"},
        timeout=10,
    )
    assert reply.status_code == 400 and "dimensions" in reply.json()["error"]["message"]


def test_emulator_request_log_survives_nan(emulator: Any, service_account: dict[str, Any]) -> None:
    emulator.reset()  # the log is the emulator's whole history: start from this test's own requests
    body = b'{"contents": [{"role": "user", "parts": [{"text": "x"}]}], "generationConfig": {"temperature": NaN}}'
    httpx.post(
        emulator.url
        + "/v1/projects/p-123456/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent",
        content=body,
        headers={
            "authorization": f"Bearer {_token(emulator, service_account)}",
            "content-type": "application/json",
        },
        timeout=10,
    )
    log = httpx.get(emulator.url + "/emulator/requests", timeout=10)
    assert log.status_code == 200
    bodies = [e["body"] for e in log.json() if isinstance(e.get("body"), dict)]
    assert [b["generationConfig"]["temperature"] for b in bodies] == ["NaN"]


# --------------------------------------------------------------------------- Google pass-through dicts


def test_seed_speech_config_numeric_string_and_range(vx: dict[str, Any], emulator: Any) -> None:
    with pytest.raises(engine.BadRequestError) as info:
        engine.speech(
            model="vertex_ai/", input="hi", audioConfig={"audioEncoding": "MP3", "speakingRate": "10"}, **vx
        )
    assert "audioConfig.speakingRate" in info.value.message and "range" in info.value.message
    with pytest.raises(engine.BadRequestError, match="audioEncoding"):
        engine.speech(model="vertex_ai/", input="hi", audioConfig={"audioEncoding": "LINEAR22"}, **vx)
    with pytest.raises(engine.BadRequestError, match="unknown field"):
        engine.speech(
            model="vertex_ai/", input="hi", audioConfig={"audioEncoding": "MP3", "speakingRat": 1}, **vx
        )
    with pytest.raises(engine.BadRequestError, match="voice.languageCode"):
        engine.speech(model="vertex_ai/", input="hi", voice={"languageCode": 5}, **vx)
    assert _paths(emulator) == []
    engine.speech(
        model="vertex_ai/", input="hi", audio_config={"audio_encoding": "MP3", "speaking_rate": "1.25"}, **vx
    )
    assert emulator.requests()[-1]["body"]["audioConfig"] == {"audioEncoding": "MP3", "speakingRate": 1.25}


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        (
            {"safety_settings": [{"category": "NOPE", "threshold": "BLOCK_NONE"}]},
            "safetySettings[0].category",
        ),
        ({"safety_settings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": 5}]}, "threshold"),
        ({"safety_settings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "bogus": 1}]}, "unknown field"),
        ({"tools": [{"googleSearch": {"bogus": 1}}]}, "tools[0].googleSearch"),
        (
            {"tools": [{"googleSearchRetrieval": {"dynamicRetrievalConfig": {"dynamicThreshold": "2"}}}]},
            "dynamicThreshold",
        ),
    ],
)
def test_gemini_pass_through_dicts_are_checked(
    vx: dict[str, Any], emulator: Any, params: dict[str, Any], needle: str
) -> None:
    with pytest.raises(engine.BadRequestError) as info:
        engine.completion(model=GEMINI, messages=HELLO, **vx, **params)
    assert needle in info.value.message
    assert _paths(emulator) == []


def test_google_schema_file_is_current() -> None:
    need("googleapiclient")
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, str(root / "tools" / "google_schemas.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "config",
    [
        {"intervalSec": 0},
        {"startOffsetSec": 0, "endOffsetSec": 10**12, "intervalSec": 4},
        {"intervalSec": "x"},
    ],
)
def test_emulator_refuses_video_segment_configs_it_cannot_serve(
    emulator: Any, service_account: dict[str, Any], config: dict[str, Any]
) -> None:
    instance = {"video": {"gcsUri": "gs://b/v.mp4", "videoSegmentConfig": config}}
    reply = httpx.post(
        emulator.url + PREDICT.format("multimodalembedding@001"),
        json={"instances": [instance]},
        headers={"authorization": f"Bearer {_token(emulator, service_account)}"},
        timeout=10,
    )
    assert reply.status_code == 400
