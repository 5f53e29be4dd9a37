"""Every failure, local or upstream, answers with OpenAI's error JSON and the right status; the server keeps serving."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from engine.proxy import BackgroundProxy
from tests.fixtures.load import load
from tests.proxy.conftest import MASTER_KEY

HELLO = [{"role": "user", "content": "hi"}]
AUTH = {"authorization": f"Bearer {MASTER_KEY}"}


def post(proxy: BackgroundProxy, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(proxy.url + path, headers={**AUTH, **kwargs.pop("headers", {})}, **kwargs)


def assert_openai_error(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"}
    # OpenAI's four fields, plus the proxy's request id (the same as the x-request-id header)
    assert set(body["error"]) == {"message", "type", "param", "code", "request_id"}
    assert body["error"]["request_id"] == resp.headers["x-request-id"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_malformed_json_is_400_naming_the_problem(standard: BackgroundProxy) -> None:
    error = assert_openai_error(
        post(standard, "/v1/chat/completions", content=b'{"model": "gemini-vision",'), 400
    )
    assert "not valid JSON" in error["message"] and "line 1" in error["message"]
    assert error["code"] == "invalid_json"


def test_body_must_be_an_object(standard: BackgroundProxy) -> None:
    assert_openai_error(post(standard, "/v1/chat/completions", json=["model"]), 400)


def test_missing_model_is_400(standard: BackgroundProxy) -> None:
    error = assert_openai_error(post(standard, "/v1/chat/completions", json={"messages": HELLO}), 400)
    assert error["param"] == "model"


def test_unknown_model_is_404_and_lists_models(standard: BackgroundProxy) -> None:
    api = openai.OpenAI(base_url=standard.url + "/v1", api_key=MASTER_KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError) as info:
        api.chat.completions.create(model="gpt-5", messages=HELLO)
    assert "'gpt-5'" in info.value.message and "gemini-vision" in info.value.message
    assert info.value.code == "model_not_found"


def test_model_without_the_operation_is_400(standard: BackgroundProxy) -> None:
    error = assert_openai_error(
        post(standard, "/v1/embeddings", json={"model": "gemini-vision", "input": "x"}), 400
    )
    assert "does not support embedding" in error["message"]


def test_client_cannot_redirect_upstream_or_credentials(standard: BackgroundProxy, emulator: Any) -> None:
    for field, value in (
        ("api_base", "http://127.0.0.1:9"),
        ("vertex_credentials", "{}"),
        ("extra_headers", {"x": "y"}),
    ):
        body = {"model": "gemini-vision", "messages": HELLO, field: value}
        error = assert_openai_error(post(standard, "/v1/chat/completions", json=body), 400)
        assert error["param"] == field
    assert not [r for r in emulator.requests() if r["path"].endswith(":generateContent")]


def test_unsupported_param_is_400_from_the_engine(standard: BackgroundProxy) -> None:
    body = {"model": "gemini-vision", "messages": HELLO, "no_such_param": 1}
    error = assert_openai_error(post(standard, "/v1/chat/completions", json=body), 400)
    assert "no_such_param" in error["message"]


def test_upstream_400_passes_through_with_google_message(standard: BackgroundProxy, emulator: Any) -> None:
    fixture = load("errors/400_invalid_argument.json")
    emulator.script("gemini-2.5-flash", [{"status": 400, "json": fixture["body"]}])
    api = openai.OpenAI(base_url=standard.url + "/v1", api_key=MASTER_KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        api.chat.completions.create(model="gemini-flash", messages=HELLO)
    assert fixture["body"]["error"]["message"] in info.value.message
    assert (
        len([r for r in emulator.requests() if r["path"].endswith(":generateContent")]) == 1
    )  # 400 is not retried


def test_upstream_429_on_the_only_deployment_is_429(standard: BackgroundProxy, emulator: Any) -> None:
    emulator.script("gemini-2.5-flash", [{"status": 429, "retry_after": 7}])
    resp = post(standard, "/v1/chat/completions", json={"model": "gemini-flash", "messages": HELLO})
    error = assert_openai_error(resp, 429)
    assert error["type"] == "rate_limit_error"
    # and the server keeps serving: the only deployment is never cooled down
    ok = post(standard, "/v1/chat/completions", json={"model": "gemini-flash", "messages": HELLO})
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"]


def test_unknown_path_and_method(standard: BackgroundProxy) -> None:
    error = assert_openai_error(post(standard, "/v1/does/not/exist", json={}), 404)
    assert "/v1/does/not/exist" in error["message"]
    assert_openai_error(httpx.get(standard.url + "/v1/chat/completions", headers=AUTH), 405)


def test_mid_stream_upstream_error_reaches_the_client(standard: BackgroundProxy, emulator: Any) -> None:
    fixture = load("gemini/generate_content_stream.json")
    emulator.script("gemini-2.5-flash", [{"stream_events": fixture["events"], "malformed_chunk": True}])
    api = openai.OpenAI(base_url=standard.url + "/v1", api_key=MASTER_KEY, max_retries=0)
    received = []
    with pytest.raises(openai.APIError) as info:
        for chunk in api.chat.completions.create(model="gemini-flash", messages=HELLO, stream=True):
            received.append(chunk)
    assert "malformed" in info.value.message
    assert (
        received and received[0].choices[0].delta.content == "Okay"
    )  # what arrived before the error was passed on
