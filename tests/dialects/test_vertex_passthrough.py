"""``/vertex_ai/...``: Google's ``google-genai`` SDK through the proxy, and attempts to redirect its credentials.

The SDK runs unchanged with ``http_options.base_url=<proxy>/vertex_ai`` and the proxy key
as its bearer token. The emulator serves Vertex's ``v1`` paths (``v1beta1``, google-genai's
default, is not emulated yet: issue 18), so the client pins ``api_version="v1"``.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.dialects.conftest import MASTER_KEY

genai = pytest.importorskip("google.genai")
from google.genai import types  # noqa: E402
from google.oauth2.credentials import Credentials  # noqa: E402

LIMITED = "sk-limited-0000000"


@pytest.fixture
def passthrough(start_proxy: Any, deployment: Any, emulator: Any, service_account: dict[str, Any]) -> Any:
    return start_proxy(
        {
            "model_list": [deployment("gemini", "vertex_ai/gemini-2.5-flash", project="proj-a")],
            "default_vertex_config": {
                "vertex_project": "proj-default",
                "vertex_location": "us-central1",
                "vertex_credentials": service_account,
                "api_base": emulator.url,
            },
            "general_settings": {
                "master_key": MASTER_KEY,
                "keys": [{"key": LIMITED, "key_alias": "limited", "models": ["gemini"]}],
            },
        }
    )


def _client(proxy: Any, project: str = "client-project", key: str = MASTER_KEY) -> Any:
    return genai.Client(
        vertexai=True,
        project=project,
        location="us-central1",
        credentials=Credentials(token=key),
        http_options=types.HttpOptions(base_url=proxy.url + "/vertex_ai", api_version="v1"),
    )


def test_generate_content(passthrough: Any, emulator: Any) -> None:
    client = _client(passthrough)
    response = client.models.generate_content(
        model="gemini-2.5-flash",
        contents="Why is the sky blue?",
        config=types.GenerateContentConfig(system_instruction="Answer briefly.", temperature=0.2),
    )
    assert response.text == "Echo: Why is the sky blue?"
    assert response.usage_metadata is not None and response.usage_metadata.total_token_count > 0
    (call,) = [r for r in emulator.requests() if r["path"].endswith(":generateContent")]
    # default_vertex_config's project replaced the client's; the body went as the SDK wrote it
    assert (
        call["path"]
        == "/v1/projects/proj-default/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    )
    assert call["body"]["systemInstruction"]["parts"] == [{"text": "Answer briefly."}]
    assert call["body"]["generationConfig"] == {"temperature": 0.2}
    assert call["headers"]["authorization"] == "Bearer <redacted>"  # a Google token, not the proxy key


def test_generate_content_stream(passthrough: Any, emulator: Any) -> None:
    client = _client(passthrough)
    chunks = list(
        client.models.generate_content_stream(
            model="gemini-2.5-flash", contents="Tell me a long story about streams"
        )
    )
    assert len(chunks) > 1
    assert "".join(c.text or "" for c in chunks) == "Echo: Tell me a long story about streams"
    paths = [r["path"] for r in emulator.requests() if ":streamGenerateContent" in r["path"]]
    assert paths == [
        "/v1/projects/proj-default/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent"
    ]
    assert [r["query"] for r in emulator.requests() if ":streamGenerateContent" in r["path"]][0].get(
        "alt"
    ) == "sse"


def test_count_tokens_and_deployment_credentials(passthrough: Any, emulator: Any) -> None:
    """A project/location a deployment serves uses that deployment's credentials and keeps the project."""
    client = _client(passthrough, project="proj-a")
    count = client.models.count_tokens(model="gemini-2.5-flash", contents="one two three")
    assert count.total_tokens and count.total_tokens > 0
    assert emulator.requests()[-1]["path"].startswith("/v1/projects/proj-a/locations/us-central1/")


def test_keys_are_checked(passthrough: Any) -> None:
    wrong_client, limited_client = _client(passthrough, key="sk-wrong"), _client(passthrough, key=LIMITED)
    with pytest.raises(genai.errors.ClientError) as wrong:
        wrong_client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert wrong.value.code == 401
    with pytest.raises(genai.errors.ClientError) as limited:
        limited_client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert limited.value.code == 403


class _Trap(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def _any(self) -> None:
        _Trap.hits.append(f"{self.command} {self.path} {self.headers.get('authorization')}")
        self.send_response(200)
        self.end_headers()

    do_GET = do_POST = _any

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def trap() -> Iterator[str]:
    """A loopback server standing for an attacker's host: nothing may ever reach it."""
    _Trap.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trap)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


MODEL_PATH = "/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"


@pytest.mark.parametrize(
    "path",
    [
        "/vertex_ai/v1/projects/p1/locations/{trap}%23/publishers/google/models/m:generateContent",
        "/vertex_ai/v1/projects/p1/locations/us-central1@{trap}/publishers/google/models/m:generateContent",
        "/vertex_ai/v1/projects/p1/locations/us-central1/%2e%2e/%2e%2e/%2e%2e/publishers/google/models/m:generateContent",
        "/vertex_ai/v1/projects/{trap}/locations/us-central1/publishers/google/models/m:generateContent",
        "/vertex_ai/v2/projects/p1/locations/us-central1/publishers/google/models/m:generateContent",
    ],
)
def test_redirect_through_the_path_is_refused(passthrough: Any, trap: str, emulator: Any, path: str) -> None:
    before = len(emulator.requests())
    reply = httpx.post(
        passthrough.url + path.format(trap=trap),
        headers={"authorization": f"Bearer {MASTER_KEY}"},
        json={"contents": [{"role": "user", "parts": [{"text": "x"}]}]},
    )
    assert reply.status_code in (400, 404)
    assert reply.json()["error"]["code"] == reply.status_code
    assert _Trap.hits == [] and len(emulator.requests()) == before


def test_redirect_through_headers_query_and_body_is_ignored(
    passthrough: Any, trap: str, emulator: Any
) -> None:
    reply = httpx.post(
        passthrough.url + "/vertex_ai" + MODEL_PATH,
        params={"alt": "json", "api_base": f"http://{trap}", "base_url": f"http://{trap}"},
        headers={
            "authorization": f"Bearer {MASTER_KEY}",
            "host": trap,
            "x-forwarded-host": trap,
            "x-goog-user-project": "someone-elses-project",
            "x-vertexlate-api-base": f"http://{trap}",
        },
        json={"contents": [{"role": "user", "parts": [{"text": "stay home"}]}]},
    )
    assert reply.status_code == 200, reply.text
    # a body field is not read by the proxy: Vertex itself (here the emulator) refuses the unknown field
    refused = httpx.post(
        passthrough.url + "/vertex_ai" + MODEL_PATH,
        headers={"authorization": f"Bearer {MASTER_KEY}"},
        json={"contents": [{"role": "user", "parts": [{"text": "x"}]}], "api_base": f"http://{trap}"},
    )
    assert refused.status_code == 400 and "api_base" in refused.json()["error"]["message"]
    assert _Trap.hits == []
    last = emulator.requests()[-2]
    assert last["path"] == MODEL_PATH.replace("p1", "proj-default")
    assert "x-goog-user-project" not in last["headers"] and "x-forwarded-host" not in last["headers"]


def test_anthropic_vertex_sdk_streams_through(passthrough: Any, emulator: Any) -> None:
    """Claude's own Vertex client, pointed at the pass-through, streams rawPredict events as Claude sent them."""
    import anthropic

    claude = anthropic.AnthropicVertex(
        base_url=passthrough.url + "/vertex_ai/v1",
        access_token=MASTER_KEY,
        project_id="client-project",
        region="us-east5",
        max_retries=0,
    )
    with claude.messages.stream(
        model="claude-sonnet-4@20250514",
        max_tokens=64,
        messages=[{"role": "user", "content": "hi Claude"}],  # the SDK's own anthropic_version
    ) as stream:
        text = "".join(stream.text_stream)
    assert text == "Echo: hi Claude"
    path = emulator.requests()[-1]["path"]
    assert (
        path
        == "/v1/projects/proj-default/locations/us-central1/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict"
    )


def test_v1beta1_is_forwarded_as_is(passthrough: Any, emulator: Any) -> None:
    reply = httpx.post(
        passthrough.url
        + "/vertex_ai/v1beta1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent",
        headers={"authorization": f"Bearer {MASTER_KEY}"},
        json={"contents": [{"role": "user", "parts": [{"text": "x"}]}]},
    )
    # the path goes through unchanged and the emulator answers on v1beta1 as Vertex does
    assert emulator.requests()[-1]["path"].startswith("/v1beta1/projects/proj-default/locations/us-central1/")
    assert (
        reply.status_code == 200 and reply.json()["candidates"][0]["content"]["parts"][0]["text"] == "Echo: x"
    )


def test_usage_is_read_from_json_and_sse() -> None:
    from engine.proxy.dialects.vertex import Usage

    unary = Usage()
    for piece in (b'{"candidates": [], "usageMetadata": {"promptTok', b'enCount": 3, "totalTokenCount": 9}}'):
        unary.feed(piece)
    assert unary.tokens() == 9
    sse = Usage()
    for piece in (
        b'data: {"usageMetadata": {"totalTokenCount": 2}}\n\ndata: {"usageMeta',
        b'data": {"totalTokenCount": 7}}\n\n',
    ):
        sse.feed(piece)
    assert sse.tokens() == 7
    claude = Usage()
    claude.feed(
        b'event: message_start\ndata: {"type": "message_start", "message": {"usage": {"input_tokens": 5, "output_tokens": 1}}}\n\n'
    )
    claude.feed(b'event: message_delta\ndata: {"type": "message_delta", "usage": {"output_tokens": 4}}\n\n')
    assert claude.tokens() == 9


def test_default_vertex_config_is_checked_at_start(write_config: Any, deployment: Any) -> None:
    from engine.proxy import load_config
    from engine.proxy.source import ConfigError

    base = {"model_list": [deployment("gemini", "vertex_ai/gemini-2.5-flash")]}
    with pytest.raises(ConfigError) as bad:
        load_config(
            write_config(
                {**base, "default_vertex_config": {"vertex_credentials": "{not json", "api_key": "x"}}
            )
        )
    text = str(bad.value)
    assert "default_vertex_config" in text and "api_key" in text
    assert "{not json" not in text  # a credential is never quoted
    with pytest.raises(ConfigError) as broken:
        load_config(write_config({**base, "default_vertex_config": {"vertex_credentials": "{not json"}}))
    assert "default_vertex_config.vertex_credentials" in str(broken.value) or "vertex_credentials" in str(
        broken.value
    )
    assert "{not json" not in str(broken.value)


def test_relayed_usage_counts_thoughts_once_and_survives_odd_values() -> None:
    from engine.proxy.dialects.vertex import Usage

    # Gemini usageMetadata whose candidates already include the thoughts (total - prompt = 30):
    # the chat path's rule (engine/transforms/gemini_usage.py) bounds completion by total - prompt.
    relayed = Usage()
    relayed.feed(
        b'{"usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 30,'
        b' "thoughtsTokenCount": 20, "totalTokenCount": 40}}'
    )
    usage = relayed.openai()
    assert usage["completion_tokens"] == 30 and usage["total_tokens"] == 40
    odd = Usage()
    odd.feed(b'{"usageMetadata": {"promptTokenCount": "abc", "totalTokenCount": -3}, "message": "text"}')
    assert odd.tokens() == 0 and odd.openai()["prompt_tokens"] == 0
    claude = Usage()
    claude.feed(b'{"usage": {"input_tokens": [1], "output_tokens": 1e400}}')
    assert claude.tokens() == 0
