"""Extensibility proof: a new model for an existing family and a whole new OpenAI-compatible
MaaS partner, added by writing YAML into a user spec directory only, then called against the emulator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import engine
from engine import registry
from tests.conformance import assert_chat_chunk, assert_chat_completion

# A new Claude model with its own limits: the family's request/response/stream handling is inherited.
NEW_CLAUDE = """
name: anthropic_extra
extends: anthropic
description: A Claude model the package does not ship yet.
models:
  - name: claude-future@20990101
    aliases: [claude-future-20990101]
    capabilities: {max_output_tokens: 2000, default_max_tokens: 1500}
"""

# A partner the package knows nothing about, served as an OpenAI-format model through rawPredict.
NEW_PARTNER = """
name: acme
extends: openai_compat
description: Acme models as a service.
capabilities: {publisher: acme, default_location: europe-west4}
models:
  - name: "acme/{acme_model}"
operations:
  chat:
    url: "{{ prefix }}/publishers/acme/models/{{ acme_model }}:rawPredict"
    stream_url: "{{ prefix }}/publishers/acme/models/{{ acme_model }}:streamRawPredict"
    request:
      body: {model: "{{ acme_model }}"}
      params:
        seed: {to: seed, type: integer}
"""

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def user_specs(tmp_path: Path) -> Path:
    (tmp_path / "anthropic_extra.yaml").write_text(NEW_CLAUDE, encoding="utf-8")
    (tmp_path / "acme.yaml").write_text(NEW_PARTNER, encoding="utf-8")
    return tmp_path


def test_new_model_in_an_existing_family(emulator: Any, vx: dict[str, Any], user_specs: Path) -> None:
    engine.add_spec_dir(user_specs)
    emulator.accept_models("claude-future@20990101")  # made up: outside the emulator's catalogue
    resp = engine.completion(model="vertex_ai/claude-future-20990101", messages=HI, **vx)
    assert_chat_completion(resp)
    assert resp.choices[0].message.content == "Echo: hi"
    (logged,) = emulator.requests("claude-future@20990101")
    assert logged["path"].endswith("/publishers/anthropic/models/claude-future@20990101:rawPredict")
    assert logged["body"]["max_tokens"] == 1500 and logged["body"]["anthropic_version"] == "vertex-2023-10-16"
    with pytest.raises(engine.BadRequestError, match="max_tokens"):
        engine.completion(model="vertex_ai/claude-future@20990101", messages=HI, max_tokens=2001, **vx)


def test_new_openai_compatible_partner(emulator: Any, vx: dict[str, Any], user_specs: Path) -> None:
    engine.add_spec_dir(user_specs)
    emulator.accept_models("rocket-2")  # a made-up partner: outside the emulator's catalogue
    emulator.script("rocket-2", [{"function_calls": [{"name": "launch", "args": {"when": "now"}}]}])
    resp = engine.completion(model="vertex_ai/acme/rocket-2", messages=HI, seed=3, **vx)
    assert_chat_completion(resp)
    assert json.loads(resp.choices[0].message.tool_calls[0].function.arguments) == {"when": "now"}
    chunks = list(engine.completion(model="vertex_ai/acme/rocket-2", messages=HI, stream=True, **vx))
    for chunk in chunks:
        assert_chat_chunk(chunk)
    assert "".join(c.choices[0].delta.get("content") or "" for c in chunks if c.choices) == "Echo: hi"
    unary, streamed = emulator.requests("rocket-2")
    assert unary["path"].endswith("/locations/us-central1/publishers/acme/models/rocket-2:rawPredict")
    assert unary["body"] == {"model": "rocket-2", "messages": HI, "seed": 3}
    assert (
        streamed["path"].endswith("/publishers/acme/models/rocket-2:streamRawPredict")
        and streamed["body"]["stream"] is True
    )


def test_spec_path_environment_variable(
    emulator: Any, service_account: dict[str, Any], user_specs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERTEXLATE_SPEC_PATH", str(user_specs))
    registry.reset()
    emulator.reset()
    emulator.accept_models("rocket-2")
    try:
        resp = engine.completion(
            model="vertex_ai/acme/rocket-2",
            messages=HI,
            api_base=emulator.url,
            vertex_credentials=service_account,
        )
        assert resp.choices[0].message.content == "Echo: hi"
        assert (
            "/locations/europe-west4/" in emulator.requests("rocket-2")[-1]["path"]
        )  # the new spec's default location
    finally:
        registry.reset()


def test_without_the_user_specs_the_models_are_unknown(vx: dict[str, Any]) -> None:
    registry.reset()
    with pytest.raises(engine.NotFoundError):
        engine.completion(model="vertex_ai/acme/rocket-2", messages=HI, **vx)


def test_an_invalid_user_spec_is_reported_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(
        "name: broken\nextends: openai_compat\nmodels:\n  - name: x/{y}\n    colour: red\n", encoding="utf-8"
    )
    with pytest.raises(engine.SpecError) as info:
        registry.Registry([tmp_path])
    message = str(info.value)
    assert "broken.yaml:4" in message and "colour" in message


def test_keys_a_parent_does_not_supply_are_still_required(tmp_path: Path) -> None:
    """A spec that extends another may leave out what the parent has, but not what nobody has."""
    text = "name: half\nextends: vertex\nmodels:\n  - name: half-1\noperations:\n  chat:\n    request: {}\n    response: {}\n"
    (tmp_path / "half.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(
        engine.SpecError, match=r"half\.yaml:\d+: operations\.chat: 'url' is a required property"
    ):
        registry.Registry([tmp_path])


# An open-model publisher Google might add to Model as a Service tomorrow: YAML only, derived from the
# shipped MaaS family (endpoints/openapi, model id in the body), with its own region and a refused parameter.
NEW_MAAS_PUBLISHER = """
name: orbit_maas
extends: maas
description: Orbit Labs open models as a service.
capabilities: {default_location: asia-southeast1, penalties: false}
models:
  - name: "orbitlabs/*-maas"
"""


def test_new_maas_publisher_by_yaml_only(emulator: Any, vx: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "orbit_maas.yaml").write_text(NEW_MAAS_PUBLISHER, encoding="utf-8")
    engine.add_spec_dir(tmp_path)
    model = "orbitlabs/orbit-7b-instruct-maas"
    emulator.accept_models(model)  # made up: outside the emulator's catalogue
    emulator.script(model, [{"function_calls": [{"name": "launch", "args": {"when": "now"}}]}])
    vx = {k: v for k, v in vx.items() if k != "vertex_location"}  # the spec's default location applies
    resp = engine.completion(model=f"vertex_ai/{model}", messages=HI, **vx)
    assert_chat_completion(resp)
    assert json.loads(resp.choices[0].message.tool_calls[0].function.arguments) == {"when": "now"}
    chunks = list(engine.completion(model=f"vertex_ai/{model}", messages=HI, stream=True, **vx))
    for chunk in chunks:
        assert_chat_chunk(chunk)
    assert "".join(c.choices[0].delta.get("content") or "" for c in chunks if c.choices) == "Echo: hi"
    unary, _ = emulator.requests(model)
    assert unary["path"].endswith("/locations/asia-southeast1/endpoints/openapi/chat/completions")
    assert unary["body"] == {"model": model, "messages": HI}
    with pytest.raises(engine.UnsupportedParamsError, match="presence_penalty"):
        engine.completion(model=f"vertex_ai/{model}", messages=HI, presence_penalty=0.5, **vx)
