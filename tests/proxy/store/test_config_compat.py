"""LiteLLM config keys the proxy does not implement: one warning naming each, with file and line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.proxy import load_config

CONFIG = """\
model_list:
  - model_name: flash
    litellm_params:
      model: vertex_ai/gemini-2.5-flash
litellm_settings:
  vertex_project: shared-project
  vertex_location: europe-west4
  success_callback: ["langfuse"]
  langfuse_params:
    password: os.environ/VERTEXLATE_UNSET_VARIABLE_FOR_TEST
general_settings:
  alerting: ["slack"]
router_settings:
  provider_budget_config: os.environ/VERTEXLATE_UNSET_VARIABLE_FOR_TEST
callback_settings: {}
"""


def test_unsupported_keys_warn_once_with_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="vertexlate.proxy"):
        config = load_config(path)  # the unset os.environ/ references are inside ignored keys: no error
    warnings = [r for r in caplog.records if "unsupported" in r.message]
    assert len(warnings) == 1
    assert config.warnings == [
        f"{path}:8: litellm_settings.success_callback: not supported by this proxy",
        f"{path}:9: litellm_settings.langfuse_params: not supported by this proxy",
        f"{path}:12: general_settings.alerting: not supported by this proxy",
        f"{path}:14: router_settings.provider_budget_config: not supported by this proxy",
        f"{path}:15: callback_settings: not supported by this proxy",
    ]
    for line in config.warnings:
        assert line in warnings[0].message


def test_litellm_settings_project_and_location_apply_to_deployments(
    write_config: Callable[..., Path], deployment: Callable[..., dict[str, Any]]
) -> None:
    own = deployment("own", "vertex_ai/gemini-2.5-flash", project="own-project", location="us-east1")
    inherits = deployment("inherits", "vertex_ai/gemini-2.5-flash")
    del inherits["litellm_params"]["vertex_project"], inherits["litellm_params"]["vertex_location"]
    config = load_config(
        write_config(
            {
                "model_list": [own, inherits],
                "litellm_settings": {"vertex_project": "shared", "vertex_location": "europe-west4"},
            }
        )
    )
    by_name = {d.model_name: d.options for d in config.deployments}
    assert (by_name["own"]["vertex_project"], by_name["own"]["vertex_location"]) == (
        "own-project",
        "us-east1",
    )
    assert (by_name["inherits"]["vertex_project"], by_name["inherits"]["vertex_location"]) == (
        "shared",
        "europe-west4",
    )


def test_store_settings(
    write_config: Callable[..., Path],
    deployment: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = deployment("flash", "vertex_ai/gemini-2.5-flash")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("LITELLM_MASTER_KEY", raising=False)
    assert load_config(write_config({"model_list": [entry]})).database_url is None  # no master key: no store
    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-from-the-environment")
    config = load_config(write_config({"model_list": [entry]}))
    assert config.master_key == "sk-from-the-environment" and config.database_url == "sqlite:///vertexlate.db"
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/prod")
    assert load_config(write_config({"model_list": [entry]})).database_url == "postgresql://db.example/prod"
    explicit = {"model_list": [entry], "general_settings": {"database_url": "sqlite:///x.db"}}
    assert load_config(write_config(explicit)).database_url == "sqlite:///x.db"
