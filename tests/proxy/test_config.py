"""Config loading: LiteLLM's format, os.environ/ references, and errors that name file, line and key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.proxy import ConfigError, load_config, main
from tests.proxy.conftest import FLASH, VISION

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "config.yaml"


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def test_shipped_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-1234")
    config = load_config(EXAMPLE)
    assert list(config.groups) == ["gemini-vision"]
    a, b = config.groups["gemini-vision"]
    assert (a.options["vertex_project"], a.options["vertex_location"]) == ("project-id", "us-central1")
    assert (b.options["vertex_project"], b.options["vertex_location"]) == ("project-id2", "us-east1")
    assert a.model == b.model == "vertex_ai/gemini-1.0-pro-vision-001"
    assert config.master_key == "sk-1234" and config.num_retries == 1 and config.cooldown_time == 30


def test_example_without_its_env_var_names_line_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LITELLM_MASTER_KEY", raising=False)
    (problem,) = problems_of(EXAMPLE)
    line = next(i for i, text in enumerate(EXAMPLE.read_text().splitlines(), 1) if "master_key:" in text)
    assert problem.startswith(f"{EXAMPLE}:{line}: general_settings.master_key: ")
    assert "LITELLM_MASTER_KEY" in problem


def test_env_refs_are_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service_account: dict[str, Any]
) -> None:
    monkeypatch.setenv("VX_CREDS", json.dumps(service_account))
    monkeypatch.setenv("VX_PROJECT", "from-env")
    path = tmp_path / "c.yaml"
    path.write_text(
        "model_list:\n"
        "  - model_name: m\n"
        "    litellm_params:\n"
        f"      model: {FLASH}\n"
        "      vertex_project: os.environ/VX_PROJECT\n"
        "      vertex_credentials: os.environ/VX_CREDS\n"
        "      temperature: 0.3\n"
        "      dimensions: 8\n"
    )
    (d,) = load_config(path).deployments
    assert d.options["vertex_project"] == "from-env"
    assert json.loads(d.options["vertex_credentials"])["client_email"] == service_account["client_email"]
    assert d.defaults["chat"] == {"temperature": 0.3}  # a param the chat spec does not take is not sent


BAD_CASES = [
    # (yaml text, expected line, expected key, expected words)
    (
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n      rpm: lots\n",
        5,
        "model_list[0].litellm_params.rpm",
        "integer",
    ),
    (
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: vertex_ai/no-such-model-xyz\n",
        4,
        "model_list[0].litellm_params.model",
        "no spec serves",
    ),
    (
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: bedrock/claude\n",
        4,
        "model_list[0].litellm_params.model",
        "does not match",
    ),
    (
        "model_list:\n  - litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n",
        2,
        "model_list[0]",
        "missing required key 'model_name'",
    ),
    ("litellm_settings:\n  drop_params: true\n", 1, "(top level)", "missing required key 'model_list'"),
    (
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n"
        "litellm_settings:\n  fallbacks: [{m: [ghost]}]\n",
        6,
        "litellm_settings.fallbacks[0].m[0]",
        "'ghost'",
    ),
    (
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n"
        "general_settings:\n  keys:\n    - key: sk-abcdefgh\n      models: [ghost]\n",
        8,
        "general_settings.keys[0].models[0]",
        "'ghost'",
    ),
    (
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n"
        "      vertex_credentials: '{not json'\n",
        5,
        "model_list[0].litellm_params.vertex_credentials",
        "not valid JSON",
    ),
    (
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n"
        "    model_info:\n      mode: embedding\n",
        6,
        "model_list[0].model_info.mode",
        "does not fit",
    ),
    (
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n"
        "router_settings:\n  redis_host: 127.0.0.1\n  redis_port: abc\n",
        7,
        "router_settings.redis_port",
        "port number",
    ),
    (
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n"
        "litellm_settings:\n  cache: true\n  cache_params:\n    type: redis\n    host: 127.0.0.1\n    port: 99999\n",
        10,
        "litellm_settings.cache_params.port",
        "port number",
    ),
]


@pytest.mark.parametrize(("text", "line", "key", "words"), BAD_CASES)
def test_problem_names_file_line_and_key(tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    problems = problems_of(path)
    assert any(p.startswith(f"{path}:{line}: {key}: ") and words in p for p in problems), problems


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("model_list:\n  - model_name: m\n    litellm_params: {model: [\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:") and "not valid YAML" in problem


def test_secret_values_never_quoted(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n"
        "      vertex_credentials: 9876543210123\ngeneral_settings:\n  master_key: 1234567890987\n"
    )
    problems = problems_of(path)
    assert len(problems) == 2
    assert not any("9876543210123" in p or "1234567890987" in p for p in problems)


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n  - model_name: a\n    litellm_params: {model: vertex_ai/gemini-2.5-flash, rpm: x}\n"
        "  - model_name: b\n    litellm_params: {model: vertex_ai/gemini-2.5-flash, tpm: -1}\n"
    )
    assert len(problems_of(path)) == 2


def test_serve_refuses_to_start_on_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("model_list: []\n")
    assert main(["--config", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:1: model_list" in err


def test_unknown_sections_of_litellm_configs_are_accepted(
    write_config: Callable[..., Path], deployment: Callable[..., dict[str, Any]]
) -> None:
    config = {
        "model_list": [deployment("gemini-vision", VISION)],
        "litellm_settings": {"success_callback": ["langfuse"], "drop_params": True},
        "router_settings": {"routing_strategy": "least-busy"},
        "finetune_settings": [
            {"custom_llm_provider": "vertex_ai", "vertex_project": "p", "vertex_location": "us-central1"}
        ],
        "files_settings": [{"custom_llm_provider": "vertex_ai"}],
        "environment_variables": {"SOME_FLAG": "1"},
    }
    loaded = load_config(write_config(config))
    assert loaded.routing_strategy == "least-busy"
    assert loaded.deployments[0].options["drop_params"] is True
    assert loaded.finetune_settings[0]["vertex_project"] == "p"
    assert loaded.environment == {"SOME_FLAG": "1"}
