"""Configs written for LiteLLM load and serve unchanged: the seed's fine-tuning config (a plain
OpenAI-compatible ``openai/fake`` deployment) and LiteLLM's documented Vertex configs (a tuned model
and an embedding model by numeric endpoint id, ``vertex_ai/`` for speech), none with ``model_info.mode``.

The only edits are the ones a config needs on this machine: the seed names a key file on its
author's laptop, which is replaced by a real key file, and to serve, ``api_base`` points the
deployments at loopback servers (the emulator, a tiny OpenAI-compatible server).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from engine.proxy import load_config
from tests.conformance import assert_chat_completion, assert_embedding_response
from tests.partners.openai_upstream import OpenAIUpstream
from tests.proxy.test_serve import Served

# The seed's fine-tuning config (vertex_ai_provider_reference_de.txt, "Fine-Tuning-APIs", step 1),
# verbatim; KEY_FILE is where the seed names /Users/ishaanjaffer/Downloads/adroit-crow-413218-a956eef1a2a8.json.
SEED_FINETUNE = """\
model_list:
- model_name: gpt-4
  litellm_params:
    model: openai/fake
    api_key: fake-key
    api_base: https://exampleopenaiendpoint-production.up.railway.app/

# 👇 Key change: For /fine_tuning/jobs endpoints
finetune_settings:
- custom_llm_provider: "vertex_ai"
  vertex_project: "adroit-crow-413218"
  vertex_location: "us-central1"
  vertex_credentials: "KEY_FILE"
"""

# LiteLLM's documented Vertex configs: "Calling Finetuned Models"
# (https://docs.litellm.ai/docs/guides/finetuned_models, `model: vertex_ai/<ENDPOINT_ID>` with
# model_info.base_model), fine-tuned / custom embedding models (`model: vertex_ai/<your-model-id>`,
# https://docs.litellm.ai/docs/providers/vertex), and text-to-speech (`model: vertex_ai/`, same page).
# The placeholders are filled with numeric ids like the docs' own example (vertex_ai/4965075652664360960).
LITELLM_VERTEX = """\
model_list:
  - model_name: finetuned-gemini
    litellm_params:
      model: vertex_ai/4965075652664360960
      vertex_project: "adroit-crow-413218"
      vertex_location: "us-central1"
    model_info:
      base_model: vertex_ai/gemini-1.5-pro # IMPORTANT
  - model_name: snowflake-arctic-embed-m-long-1731622468876
    litellm_params:
      model: vertex_ai/1004708436694269952
      vertex_project: "adroit-crow-413218"
      vertex_location: "us-central1"
      vertex_credentials: KEY_FILE
  - model_name: vertex-tts
    litellm_params:
      model: vertex_ai/
      vertex_project: "adroit-crow-413218"
      vertex_location: "us-central1"
      vertex_credentials: KEY_FILE

litellm_settings:
  drop_params: True
"""


@pytest.fixture
def key_file(tmp_path: Path, service_account: dict[str, Any]) -> Path:
    path = tmp_path / "adroit-crow-413218-a956eef1a2a8.json"
    path.write_text(json.dumps(service_account), encoding="utf-8")
    return path


def _write(tmp_path: Path, text: str, key_file: Path, **replace: str) -> Path:
    text = text.replace("KEY_FILE", str(key_file))
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_finetune_config_loads(tmp_path: Path, key_file: Path) -> None:
    config = load_config(_write(tmp_path, SEED_FINETUNE, key_file))
    (gpt4,) = config.deployments
    assert gpt4.model == "openai/fake" and gpt4.operations == frozenset({"chat", "embedding"})
    assert gpt4.options["api_key"] == "fake-key" and "api_key" not in gpt4.defaults["chat"]
    assert config.finetune_settings[0]["vertex_project"] == "adroit-crow-413218"


def test_litellm_vertex_configs_load_without_mode(tmp_path: Path, key_file: Path) -> None:
    config = load_config(_write(tmp_path, LITELLM_VERTEX, key_file))
    ops = {d.model_name: d.operations for d in config.deployments}
    # No model_info.mode: a numeric endpoint id serves what the specs say (the proxy picks by endpoint).
    assert ops["finetuned-gemini"] == frozenset({"chat", "embedding", "image_generation"})
    assert "embedding" in ops["snowflake-arctic-embed-m-long-1731622468876"]
    assert ops["vertex-tts"] == frozenset({"speech"})


def test_vertexlate_serve_answers_the_seeds_gpt4_deployment(tmp_path: Path, key_file: Path) -> None:
    with OpenAIUpstream("fake-key") as up:
        config = _write(
            tmp_path,
            SEED_FINETUNE,
            key_file,
            **{"https://exampleopenaiendpoint-production.up.railway.app/": up.url + "/"},
        )
        served = Served(config, "uvicorn")
        try:
            client = openai.OpenAI(base_url=served.url + "/v1", api_key="anything", max_retries=0)
            resp = client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}])
            assert_chat_completion(resp)
            assert resp.choices[0].message.content == "Echo: hi"
            assert served.terminate() == 0
        finally:
            served.kill()
    (sent,) = up.requests
    assert sent["headers"]["authorization"] == "Bearer fake-key"  # the deployment's key, never a Google token
    assert sent["body"]["model"] == "fake"


def test_vertexlate_serve_routes_litellm_configs_by_endpoint(
    tmp_path: Path, key_file: Path, emulator: Any
) -> None:
    emulator.reset()
    text = LITELLM_VERTEX.replace(
        '      vertex_location: "us-central1"\n',
        f'      vertex_location: "us-central1"\n      api_base: {emulator.url}\n',
    )
    text = text.replace(
        "      model: vertex_ai/4965075652664360960\n",
        "      model: vertex_ai/4965075652664360960\n      vertex_credentials: KEY_FILE\n",
    )
    served = Served(_write(tmp_path, text, key_file), "uvicorn")
    try:
        client = openai.OpenAI(base_url=served.url + "/v1", api_key="anything", max_retries=0)
        chat = client.chat.completions.create(
            model="finetuned-gemini", messages=[{"role": "user", "content": "hi"}]
        )
        assert_chat_completion(chat)
        embedded = client.embeddings.create(
            model="snowflake-arctic-embed-m-long-1731622468876", input="hello"
        )
        assert_embedding_response(embedded)
        speech = httpx.post(
            served.url + "/v1/audio/speech",
            json={"model": "vertex-tts", "input": "hello", "voice": "alloy"},
            timeout=20,
        )
        assert speech.status_code == 200, speech.text
        assert speech.content
        assert served.terminate() == 0
    finally:
        served.kill()
    paths = [r["path"] for r in emulator.requests()]
    assert any(p.endswith("/endpoints/4965075652664360960:generateContent") for p in paths)
    assert any(p.endswith("/endpoints/1004708436694269952:predict") for p in paths)
    assert any(p.endswith("text:synthesize") for p in paths)


def test_an_openai_deployment_without_a_key_is_a_config_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.proxy.source import ConfigError

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/fake\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="add api_key or set OPENAI_API_KEY"):
        load_config(path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert load_config(path).deployments[0].model == "openai/fake"
