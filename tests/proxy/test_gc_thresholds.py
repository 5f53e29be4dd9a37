"""The server's cyclic-collector thresholds (engine/proxy/app.py ``gc_thresholds``): default, set, refused."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from engine.proxy.app import GC_DEFAULT, GC_ENV, freeze_heap, gc_thresholds


def test_default_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GC_ENV, raising=False)
    assert gc_thresholds() == GC_DEFAULT
    monkeypatch.setenv(GC_ENV, "700, 10,10")
    assert gc_thresholds() == (700, 10, 10)


@pytest.mark.parametrize("raw", ["0,10,10", "700,10", "a,b,c", "-1,2,3"])
def test_a_bad_value_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(GC_ENV, raw)
    with pytest.raises(ValueError, match=GC_ENV):
        gc_thresholds()


def test_freeze_heap_applies_them(monkeypatch: pytest.MonkeyPatch) -> None:
    before = gc.get_threshold()
    monkeypatch.setenv(GC_ENV, "5000,20,30")
    try:
        freeze_heap()
        assert gc.get_threshold() == (5000, 20, 30)
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def test_serve_refuses_a_bad_value_before_starting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.proxy.server import main

    config = tmp_path / "config.yaml"
    config.write_text(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: vertex_ai/gemini-3.5-flash\n"
    )
    monkeypatch.setenv(GC_ENV, "a,b,c")
    assert main(["--config", str(config), "--port", "0"]) == 2
    assert GC_ENV in capsys.readouterr().err
