"""Property tests over every proxy endpoint: whatever a client sends, the reply is a success or OpenAI's error JSON with a 4xx.

Malformed and non-JSON bodies, wrong types in every known parameter, deep nesting,
huge numbers and strings, odd unicode (lone surrogates, NUL, bidi controls), unknown
fields and odd headers go to a real proxy on loopback whose deployments point at the
emulator. A 5xx for any of them is a failure: the client's input must never look like
the proxy's (or Google's) fault.

Deterministic: ``derandomize=True`` and no example database, so CI runs the same
examples every time and nothing leaks between runs. ``VERTEXLATE_FUZZ_EXAMPLES`` scales
the number of examples (default 1: 200-400 per test, about 2,000 requests in all).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.proxy import BackgroundProxy, load_config
from tests.jobs.conftest import BUCKET
from tests.proxy.conftest import FLASH, MASTER_KEY, VISION

SCALE = float(os.environ.get("VERTEXLATE_FUZZ_EXAMPLES", "1"))
AUTH = {"authorization": f"Bearer {MASTER_KEY}"}
GROUPS = ["gemini-vision", "gemini-flash", "claude", "embedder", "painter", "voice"]


def fuzz(examples: int) -> Any:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture(scope="module")
def proxy(
    emulator: Any, service_account: dict[str, Any], gcs_server: str, tmp_path_factory: Any
) -> Iterator[BackgroundProxy]:
    def deployment(name: str, model: str, **extra: Any) -> dict[str, Any]:
        params = {
            "model": model,
            "vertex_project": "proj-fuzz",
            "vertex_location": "us-central1",
            "api_base": emulator.url,
            "vertex_credentials": service_account,
            "timeout": 20,
        }
        return {"model_name": name, "litellm_params": params, **extra}

    vertex = {
        "custom_llm_provider": "vertex_ai",
        "vertex_project": "proj-fuzz",
        "vertex_location": "us-central1",
        "vertex_credentials": service_account,
        "api_base": emulator.url,
    }
    config = {
        "model_list": [
            deployment("gemini-vision", VISION),
            deployment("gemini-vision", VISION),
            deployment("gemini-flash", FLASH),
            deployment("claude", "vertex_ai/claude-3-5-sonnet@20240620"),
            deployment("embedder", "vertex_ai/text-embedding-005"),
            deployment("painter", "vertex_ai/imagen-3.0-generate-002"),
            deployment("voice", "vertex_ai/", model_info={"mode": "audio_speech"}),
        ],
        "general_settings": {"master_key": MASTER_KEY, "max_request_size_mb": 1},
        "files_settings": [{**vertex, "gcs_bucket_name": BUCKET, "storage_api_base": gcs_server}],
        "finetune_settings": [vertex],
    }
    path = tmp_path_factory.mktemp("fuzz") / "config.yaml"
    path.write_text(json.dumps(config))
    with (
        BackgroundProxy(load_config(path)) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        server.client = client  # type: ignore[attr-defined]
        yield server


# ---------------------------------------------------------------------------------------------- values
ODD_TEXT = st.sampled_from(
    [
        "",
        "\ud800",
        "a\udfffb",
        "\x00",
        "\u202eevil",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "e\u0301",
        "\ufeff",
        "\n" * 50,
        "x" * 100_000,
        "%00",
        "../..",
    ]
)
TEXT = st.text(max_size=20) | ODD_TEXT
NUMBERS = (
    st.integers(min_value=-5, max_value=50)
    | st.sampled_from([0, -1, 2**31, 2**63, 10**400, 1e308, -1e308, 5e-324, 0.5, 2.5])
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
)
SCALARS = st.none() | st.booleans() | NUMBERS | TEXT
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
CONTENT_PARTS = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image_url", "file", "input_audio", "tool_result", 5])},
    optional={
        "text": VALUES,
        "image_url": VALUES
        | st.fixed_dictionaries(
            {
                "url": st.sampled_from(
                    [
                        "gs://b/x.png",
                        "data:image/png;base64,AAAA",
                        "file:///etc/passwd",
                        "http://169.254.169.254/",
                    ]
                )
                | TEXT
            }
        ),
        "file": VALUES,
        "input_audio": VALUES,
    },
)
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "tool", "developer", "function"]) | VALUES},
    optional={
        "content": TEXT | st.lists(CONTENT_PARTS, max_size=3) | VALUES,
        "tool_calls": VALUES
        | st.lists(
            st.fixed_dictionaries({"id": TEXT, "type": st.just("function"), "function": VALUES}), max_size=2
        ),
        "tool_call_id": VALUES,
        "name": VALUES,
        "thinking_blocks": VALUES,
    },
)
MESSAGES = st.lists(MESSAGE, max_size=3) | VALUES

# Parameters of the endpoints, each with anything from a plausible to an absurd value.
# Not sent: n / dimensions to image and embedding models at absurd sizes (the emulator's own
# limits are another part of issue 11); small values still go.
COMMON = {
    "temperature": NUMBERS | VALUES,
    "top_p": NUMBERS | VALUES,
    "max_tokens": st.integers(-5, 200) | VALUES,
    "max_completion_tokens": st.integers(-5, 200) | TEXT,
    "stop": VALUES,
    "seed": NUMBERS,
    "user": VALUES,
    "metadata": VALUES,
    "response_format": VALUES
    | st.fixed_dictionaries(
        {"type": st.sampled_from(["json_object", "json_schema", "text", "x"]), "json_schema": VALUES}
    ),
    "tools": VALUES
    | st.lists(st.fixed_dictionaries({"type": st.just("function"), "function": VALUES}), max_size=2),
    "tool_choice": VALUES,
    "stream": st.booleans() | VALUES,
    "stream_options": VALUES,
    "reasoning_effort": st.sampled_from(["low", "medium", "high", "none"]) | VALUES,
    "thinking": VALUES,
    "safety_settings": VALUES,
    "cached_content": TEXT,
    "logprobs": VALUES,
    "frequency_penalty": NUMBERS,
    "n": st.integers(-2, 3) | TEXT,
    "drop_params": VALUES,
    "extra_body": VALUES,
    "vertex_location": TEXT,  # refused: the config decides where calls go
    "api_base": TEXT,
}
PER_ENDPOINT: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"messages": MESSAGES},
    "/v1/completions": {"prompt": VALUES | TEXT, "suffix": VALUES},
    "/v1/embeddings": {
        "input": VALUES | st.lists(TEXT, max_size=5),
        "dimensions": st.integers(-2, 800) | TEXT,
        "encoding_format": VALUES,
    },
    "/v1/images/generations": {
        "prompt": VALUES | TEXT,
        "size": VALUES,
        "n": st.integers(-2, 3) | TEXT,
        "quality": VALUES,
    },
    "/v1/audio/speech": {
        "input": VALUES | TEXT,
        "voice": VALUES,
        "speed": NUMBERS,
        "response_format": VALUES,
    },
}


@st.composite
def request_body(draw: Any, path: str) -> dict[str, Any]:
    fields = {**COMMON, **PER_ENDPOINT[path]}
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=5))
    body: dict[str, Any] = {"model": draw(st.sampled_from(GROUPS) | VALUES)}
    for name in chosen:
        body[name] = draw(fields[name])
    if draw(st.booleans()):
        body.update(draw(st.dictionaries(TEXT, VALUES, max_size=2)))
    return body


def encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=True).encode()  # ensure_ascii: lone surrogates travel as \\ud800


# ---------------------------------------------------------------------------------------------- replies
def check(resp: httpx.Response, what: Any) -> None:
    """A success, or OpenAI's error JSON with a 4xx; a streamed success ends in [DONE] or an error event."""
    assert resp.status_code < 500, f"{resp.status_code} for {str(what)[:300]!r}: {resp.text[:500]}"
    assert MASTER_KEY not in resp.text  # the key every request carries never comes back
    if resp.status_code >= 400:
        assert resp.headers["content-type"].startswith("application/json"), resp.text[:200]
        body = resp.json()
        # OpenAI's four fields and the proxy's request id
        fields = {"message", "type", "param", "code", "request_id"}
        assert set(body) == {"error"} and set(body["error"]) == fields, body
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
        assert len(resp.content) < 20_000  # input is quoted short, never whole
        return
    assert resp.status_code == 200, resp.status_code
    if resp.headers["content-type"].startswith("text/event-stream"):
        events = [line[6:] for line in resp.text.splitlines() if line.startswith("data: ")]
        assert events, resp.text[:200]
        assert events[-1] == "[DONE]" or "error" in json.loads(events[-1]), events[-1][:200]
        for event in events[:-1]:
            json.loads(event)


def post(
    proxy: BackgroundProxy, path: str, content: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    return proxy.client.post(
        path, content=content, headers={**AUTH, "content-type": "application/json", **(headers or {})}
    )  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------- properties
@pytest.mark.parametrize("path", list(PER_ENDPOINT))
@fuzz(200)
@given(data=st.data())
def test_model_endpoints_never_answer_5xx(proxy: BackgroundProxy, path: str, data: Any) -> None:
    body = data.draw(request_body(path))
    check(post(proxy, path, encode(body)), body)


RAW_BODIES = (
    st.binary(max_size=300)
    | st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'"x"',
            b"1e999",
            b'{"model": NaN}',
            b"{" * 10_000,
            b'{"a":' * 3000,
            b"\xff\xfe{}",
            b'{"model": "gemini-flash", "messages": [' + b"[" * 2000 + b"]" * 2000 + b"]}",
        ]
    )
    | st.integers(1, 6000).map(
        lambda n: b'{"model": "gemini-flash", "messages": ' + b"[" * n + b"]" * n + b"}"
    )
    | st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
ALL_POSTS = [
    *PER_ENDPOINT,
    "/v1/batches",
    "/v1/fine_tuning/jobs",
    "/v1/batches/123/cancel",
    "/v1/fine_tuning/jobs/1/cancel",
    "/v1/files",
    "/chat/completions",
]


@fuzz(400)
@given(path=st.sampled_from(ALL_POSTS), raw=RAW_BODIES)
def test_malformed_bodies_are_4xx_json(proxy: BackgroundProxy, path: str, raw: bytes) -> None:
    check(post(proxy, path, raw), raw[:200])


HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "authorization",
            "content-type",
            "content-length",
            "x-api-key",
            "transfer-encoding",
            "cookie",
            "accept",
        ]
    ),
    st.sampled_from(
        [
            "",
            "Bearer",
            f"bearer {MASTER_KEY}",
            f"Basic {MASTER_KEY}",
            "Bearer sk-wrong",
            "Bearer \u00e9\u00ff",
            "application/xml",
            "multipart/form-data; boundary=x",
            "text/plain",
            "0",
            "-1",
            "x" * 5000,
        ]
    ),
    max_size=3,
)


@fuzz(200)
@given(path=st.sampled_from(ALL_POSTS), headers=HEADERS)
def test_odd_headers_are_4xx_json(proxy: BackgroundProxy, path: str, headers: dict[str, str]) -> None:
    body = encode({"model": "gemini-flash", "messages": [{"role": "user", "content": "hi"}]})
    if "content-length" in headers:  # a wrong length is a framing error, answered before the app
        del headers["content-length"]
    headers.pop("transfer-encoding", None)  # likewise (and httpx refuses to send most values)
    raw = {k: v.encode("latin-1") for k, v in headers.items()}
    resp = proxy.client.post(path, content=body, headers={**AUTH, **raw})  # type: ignore[attr-defined]
    check(resp, headers)


RESOURCE_GETS = [
    "/v1/batches",
    "/v1/fine_tuning/jobs",
    "/v1/batches/{}",
    "/v1/fine_tuning/jobs/{}",
    "/v1/files/{}",
    "/v1/files/{}/content",
    "/v1/models/{}",
]
IDS = st.sampled_from(
    [
        "123",
        "0",
        "-1",
        "9" * 40,
        "%2e%2e",
        "gs://",
        f"gs://{BUCKET}/x",
        "gs://%2E%2E/o",
        "a%3Fb%23c",
        "projects/p/locations/l/batchPredictionJobs/1",
    ]
) | st.text(alphabet="abc123-_.~%/:?#@", max_size=30)
QUERIES = st.dictionaries(
    st.sampled_from(["limit", "after", "custom_llm_provider", "api_base", "x"]),
    TEXT.filter(lambda t: len(t) < 1000) | st.sampled_from(["-1", "0", "101", "1e3", "vertex_ai", "openai"]),
    max_size=2,
)


@fuzz(200)
@given(route=st.sampled_from(RESOURCE_GETS), ident=IDS, query=QUERIES, body=st.none() | VALUES)
def test_resource_routes_never_answer_5xx(
    proxy: BackgroundProxy, route: str, ident: str, query: dict[str, str], body: Any
) -> None:
    params = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in query.items()}
    content = encode(body) if body is not None else None
    path = route.format(ident) if "{}" in route else route
    resp = proxy.client.request("GET", path, params=params, content=content, headers=AUTH)  # type: ignore[attr-defined]
    check(resp, (path, query, body))


@fuzz(150)
@given(
    purpose=st.sampled_from(["batch", "fine-tune", "", "x"]),
    # Never empty: gcp-storage-emulator (the Cloud Storage stand-in) crashes on an empty upload.
    content=st.binary(min_size=1, max_size=200)
    | st.lists(VALUES, max_size=3).map(lambda lines: b"\n".join(encode(v) for v in lines) or b"\n"),
    name=TEXT.filter(lambda t: len(t) < 200),
)
def test_uploads_never_answer_5xx(proxy: BackgroundProxy, purpose: str, content: bytes, name: str) -> None:
    safe_name = name.encode("utf-8", "surrogatepass").decode("utf-8", "replace") or "f"
    resp = proxy.client.post(
        "/v1/files", data={"purpose": purpose}, files={"file": (safe_name, content)}, headers=AUTH
    )  # type: ignore[attr-defined]
    check(resp, (purpose, content[:100]))
