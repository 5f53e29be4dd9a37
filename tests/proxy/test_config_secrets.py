"""Config errors never print a secret: duplicate keys, schema errors, env values, credentials.

What counts as secret comes from :func:`engine.redact.is_secret_name` (keys, credentials,
passwords, tokens, ...) plus every value an ``os.environ/`` reference resolved to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.proxy import ConfigError, load_config, main

MODEL = "model_list:\n  - model_name: m\n    litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n"
MASTER_1 = "sk-first-master-key-1111"
MASTER_2 = "sk-second-master-key-2222"


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_duplicate_master_key_prints_neither_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, MODEL + f"general_settings:\n  master_key: {MASTER_1}\n  master_key: {MASTER_2}\n")
    (problem,) = problems_of(path)
    assert problem == f"{path}:7: not valid YAML: duplicate key 'master_key' (first written on line 6)"
    assert main(["--config", str(path)]) == 2
    printed = capsys.readouterr().err
    assert "master_key" in printed and MASTER_1 not in printed and MASTER_2 not in printed


def test_duplicate_private_key_prints_no_part_of_it(tmp_path: Path, service_account: dict[str, Any]) -> None:
    key = json.dumps(service_account["private_key"])  # a JSON string is a YAML double-quoted string
    text = (
        MODEL
        + "      vertex_credentials:\n"
        + f"        private_key: {key}\n"
        + f"        private_key: {key}\n"
    )
    (problem,) = problems_of(write(tmp_path, text))
    assert "duplicate key 'private_key'" in problem
    for line in service_account["private_key"].splitlines()[1:-1]:
        assert line not in problem


def test_a_syntax_error_does_not_print_the_offending_line(tmp_path: Path) -> None:
    secret = "sk-secret-in-a-broken-line-42"
    (problem,) = problems_of(write(tmp_path, MODEL + f'general_settings:\n  master_key: "{secret}\n  x: [\n'))
    assert "not valid YAML" in problem and secret not in problem


def test_schema_errors_under_secret_keys_print_no_value(tmp_path: Path) -> None:
    text = (
        MODEL
        + "general_settings:\n  keys:\n    - key: 12345678901\n      key_alias: team-a\n      models: 5\n"
    )
    problems = problems_of(write(tmp_path, text))
    assert problems and not any("12345678901" in p for p in problems)
    assert any("keys[0].models" in p for p in problems)  # the non-secret key is still named


def test_values_from_the_environment_are_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VX_RPM", "sk-looks-like-a-secret-9999")
    monkeypatch.setenv("VX_MODEL", "vertex_ai/secret-model-from-env-7777")
    text = (
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: os.environ/VX_MODEL\n"
        "      rpm: os.environ/VX_RPM\n"
    )
    problems = problems_of(write(tmp_path, text))
    assert len(problems) >= 1
    assert not any("sk-looks-like-a-secret-9999" in p or "secret-model-from-env-7777" in p for p in problems)


def test_a_container_error_does_not_print_its_contents(tmp_path: Path) -> None:
    text = (
        MODEL
        + "finetune_settings:\n  - custom_llm_provider: vertex_ai\n    api_key: sk-nested-secret-5555\n  - 5\n"
    )
    problems = problems_of(write(tmp_path, text))
    assert problems and not any("sk-nested-secret-5555" in p for p in problems)


def test_public_values_are_still_quoted(tmp_path: Path) -> None:
    """Scrubbing is targeted: a non-secret value (a model name) is still shown to help fix the typo."""
    text = "model_list:\n  - model_name: m\n    litellm_params:\n      model: vertex_ai/no-such-model-xyz\n"
    (problem,) = problems_of(write(tmp_path, text))
    assert "'vertex_ai/no-such-model-xyz'" in problem
