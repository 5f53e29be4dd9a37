"""The management routes under arbitrary input: never a 5xx, always OpenAI's error JSON (rule 6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.proxy import BackgroundProxy, load_config
from tests.proxy.conftest import MASTER_KEY

AUTH = {"authorization": f"Bearer {MASTER_KEY}"}
POSTS = [
    "/key/generate",
    "/key/update",
    "/key/delete",
    "/key/regenerate",
    "/key/block",
    "/user/new",
    "/user/update",
    "/user/delete",
    "/team/new",
    "/team/update",
    "/team/member_add",
    "/team/delete",
]
GETS = [
    "/key/info",
    "/key/list",
    "/user/info",
    "/team/info",
    "/spend/logs",
    "/global/spend/report",
    "/model/info",
]
FIELDS = [
    "key",
    "keys",
    "models",
    "max_budget",
    "budget_duration",
    "soft_budget",
    "rpm_limit",
    "tpm_limit",
    "max_parallel_requests",
    "duration",
    "expires",
    "key_alias",
    "metadata",
    "user_id",
    "team_id",
    "blocked",
    "member",
    "members_with_roles",
    "user_ids",
    "team_ids",
]
scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
bodies = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), values, max_size=5)
queries = st.dictionaries(
    st.sampled_from(
        ["key", "user_id", "team_id", "page", "size", "start_date", "end_date", "group_by", "api_key"]
    ),
    st.text(max_size=20),
    max_size=4,
)
SETTINGS = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def proxy(emulator: Any, service_account: dict[str, Any], tmp_path_factory: Any) -> Iterator[BackgroundProxy]:
    directory: Path = tmp_path_factory.mktemp("fuzz-store")
    config = {
        "model_list": [
            {
                "model_name": "flash",
                "litellm_params": {
                    "model": "vertex_ai/gemini-2.5-flash",
                    "vertex_project": "p",
                    "vertex_location": "us-central1",
                    "api_base": emulator.url,
                    "vertex_credentials": service_account,
                },
            }
        ],
        "general_settings": {"master_key": MASTER_KEY, "database_url": f"sqlite:///{directory / 'fuzz.db'}"},
    }
    path = directory / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    with BackgroundProxy(load_config(path)) as running:
        yield running


def _check(reply: httpx.Response) -> None:
    assert reply.status_code < 500, reply.text
    if reply.status_code >= 400:
        assert "error" in reply.json()


@SETTINGS
@given(path=st.sampled_from(POSTS), body=bodies)
@example(path="/key/generate", body={"rpm_limit": 2**70})
@example(path="/key/generate", body={"max_budget": 2**70})
@example(path="/team/new", body={"team_id": "t", "members_with_roles": [{"user_id": 5}]})
@example(path="/key/generate", body={"duration": "99999999999999d"})
@example(path="/key/generate", body={"expires": "9999-12-31T23:59:59"})
@example(path="/key/generate", body={"metadata": {"x": float("nan")}})
def test_management_posts_never_answer_5xx(proxy: BackgroundProxy, path: str, body: dict[str, Any]) -> None:
    raw = json.dumps(body, allow_nan=True)
    _check(
        httpx.post(
            proxy.url + path, content=raw, headers={**AUTH, "content-type": "application/json"}, timeout=30
        )
    )


@SETTINGS
@given(path=st.sampled_from(GETS), params=queries)
def test_management_gets_never_answer_5xx(proxy: BackgroundProxy, path: str, params: dict[str, str]) -> None:
    _check(httpx.get(proxy.url + path, params=params, headers=AUTH, timeout=30))


def test_a_generated_key_survives_the_fuzz(proxy: BackgroundProxy) -> None:
    made = httpx.post(proxy.url + "/key/generate", json={"models": ["flash"]}, headers=AUTH)
    assert made.status_code == 200
    info = httpx.get(proxy.url + "/key/info", params={"key": made.json()["key"]}, headers=AUTH)
    assert info.status_code == 200 and info.json()["info"]["models"] == ["flash"]
