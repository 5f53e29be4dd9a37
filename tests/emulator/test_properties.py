"""Property-based checks: streaming always reassembles to the unary answer, and the
discovery validators accept proto3-JSON numbers in both spellings."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.emulator import Emulator, discovery
from tests.examples import examples

from .helpers import model_path, sse_data, user

MODEL = "gemini-2.0-flash-001"
PRINTABLE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60)


@settings(
    max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(said=PRINTABLE)
def test_sse_stream_reassembles_to_unary_answer(emulator: Emulator, token: str, said: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=emulator.url, headers=headers, timeout=10) as client:
        unary = client.post(model_path(MODEL, "generateContent"), json=user(said)).json()
        stream = client.post(
            model_path(MODEL, "streamGenerateContent"), params={"alt": "sse"}, json=user(said)
        )
    chunks = [json.loads(d) for d in sse_data(stream.text, "\r\n\r\n")]
    streamed = "".join(p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"])
    assert streamed == unary["candidates"][0]["content"]["parts"][0]["text"] == f"Echo: {said}"
    assert chunks[-1]["usageMetadata"] == unary["usageMetadata"]


@given(value=st.integers(min_value=-(2**63), max_value=2**63 - 1), as_text=st.booleans())
def test_int64_fields_accept_both_json_spellings(value: int, as_text: bool) -> None:
    body = {"completionStats": {"failedCount": str(value) if as_text else value}}
    assert discovery.errors("aiplatform.v1", "GoogleCloudAiplatformV1BatchPredictionJob", body) == []


@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20))
def test_any_unknown_part_field_is_named_in_the_error(name: str) -> None:
    known = discovery.definitions("aiplatform.v1")["GoogleCloudAiplatformV1Part"]["properties"]
    body = {"contents": [{"parts": [{"text": "x", name: 1}]}]}
    found = discovery.errors("aiplatform.v1", "GoogleCloudAiplatformV1GenerateContentRequest", body)
    if name in known:
        assert all(f'Unknown name "{name}"' not in e for e in found)
    else:
        assert found == [
            f"contents[0].parts[0].{name}: Invalid JSON payload received. "
            f"Unknown name \"{name}\" at 'contents[0].parts[0]': Cannot find field."
        ]
