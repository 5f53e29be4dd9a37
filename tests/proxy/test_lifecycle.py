"""A client that leaves cancels the upstream call; a graceful shutdown lets work in progress finish."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from engine.proxy import BackgroundProxy, load_config
from tests.fixtures.load import load
from tests.proxy.conftest import FLASH, MASTER_KEY
from tests.proxy.slow_upstream import SlowUpstream

AUTH = {"authorization": f"Bearer {MASTER_KEY}"}
HELLO = [{"role": "user", "content": "hi"}]
WAIT = 10  # seconds: a safety net for a broken implementation, never a measured quantity


@pytest.fixture
def slow() -> Iterator[SlowUpstream]:
    events = load("gemini/generate_content_stream.json")["events"]
    body = load("gemini/generate_content_text.json")["body"]
    with SlowUpstream(events, body) as upstream:
        yield upstream


@pytest.fixture
def proxy(
    slow: SlowUpstream, deployment: Callable[..., dict[str, Any]], write_config: Callable[..., Any]
) -> Iterator[BackgroundProxy]:
    config = {
        "model_list": [deployment("slow", FLASH, api_base=slow.url)],
        "general_settings": {"master_key": MASTER_KEY},
    }
    server = BackgroundProxy(load_config(write_config(config)), grace=3).start()
    yield server
    server.stop()


def data_lines(response: httpx.Response) -> Iterator[str]:
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield line[len("data: ") :]


def test_client_leaving_mid_stream_closes_the_upstream(proxy: BackgroundProxy, slow: SlowUpstream) -> None:
    body = {"model": "slow", "messages": HELLO, "stream": True}
    with (
        httpx.Client() as client,
        client.stream("POST", proxy.url + "/v1/chat/completions", json=body, headers=AUTH) as resp,
    ):
        first = json.loads(next(data_lines(resp)))
        assert first["choices"][0]["delta"]["content"] == "Okay"
    # the client hung up; the upstream never got `release`
    assert slow.closed.wait(WAIT), "the proxy kept the upstream stream open after its client left"
    assert not slow.release.is_set()


def test_client_leaving_before_the_answer_cancels_the_upstream(
    proxy: BackgroundProxy, slow: SlowUpstream
) -> None:
    body = {"model": "slow", "messages": HELLO}
    outcome: list[BaseException | httpx.Response] = []
    caller = threading.Thread(target=lambda: outcome.append(_post_and_give_up(proxy, body)), daemon=True)
    caller.start()
    assert slow.started.wait(WAIT)
    caller.join(WAIT)
    # checked here, in the test's thread: a failed assertion in the caller's thread would only be a warning
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.ReadTimeout), outcome
    assert slow.closed.wait(WAIT), "the proxy kept waiting upstream for a client that had left"
    states = proxy.proxy.router.states["slow"]
    assert _eventually(lambda: states[0].usage.in_flight == 0 and proxy.proxy.disconnects == 1)


def _post_and_give_up(proxy: BackgroundProxy, body: dict[str, Any]) -> BaseException | httpx.Response:
    """Post, stop waiting for the answer after 0.3 s; the exception (or the unexpected reply) is returned."""
    try:
        return httpx.post(
            proxy.url + "/v1/chat/completions", json=body, headers=AUTH, timeout=httpx.Timeout(5, read=0.3)
        )
    except BaseException as exc:  # noqa: BLE001 - handed to the test's thread to assert on
        return exc


def _eventually(check: Callable[[], bool]) -> bool:
    done = threading.Event()
    for _ in range(WAIT * 50):
        if check():
            return True
        done.wait(0.02)
    return check()


def test_shutdown_lets_a_request_in_flight_finish(proxy: BackgroundProxy, slow: SlowUpstream) -> None:
    result: dict[str, Any] = {}

    def call() -> None:
        result["resp"] = httpx.post(
            proxy.url + "/v1/chat/completions",
            json={"model": "slow", "messages": HELLO},
            headers=AUTH,
            timeout=WAIT,
        )

    caller = threading.Thread(target=call)
    caller.start()
    assert slow.started.wait(WAIT)
    proxy.shutdown(wait=False)
    assert _eventually(lambda: proxy.proxy.draining)
    slow.release.set()
    caller.join(WAIT)
    published = load("gemini/generate_content_text.json")["body"]["candidates"][0]["content"]["parts"][0][
        "text"
    ]
    assert result["resp"].status_code == 200
    assert result["resp"].json()["choices"][0]["message"]["content"] == published


def test_shutdown_ends_a_stream_that_does_not_finish_cleanly(
    proxy: BackgroundProxy, slow: SlowUpstream
) -> None:
    body = {"model": "slow", "messages": HELLO, "stream": True}
    with (
        httpx.Client(timeout=WAIT) as client,
        client.stream("POST", proxy.url + "/v1/chat/completions", json=body, headers=AUTH) as resp,
    ):
        lines = data_lines(resp)
        assert json.loads(next(lines))["choices"][0]["delta"]["content"] == "Okay"
        proxy.shutdown(wait=False)
        rest = list(lines)  # ends when the proxy closes the stream; a cut connection would raise here
    assert [json.loads(x)["error"]["type"] for x in rest] == ["service_unavailable"]
    assert "shutting down" in json.loads(rest[0])["error"]["message"]
    assert slow.closed.wait(WAIT)
