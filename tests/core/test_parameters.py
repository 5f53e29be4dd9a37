"""The parameter table at call time: every problem at once, finite numbers, no silent overwrite, timeout=None."""

from __future__ import annotations

import logging
import math
from typing import Any

import httpx
import pytest

import engine
from engine.api import prepare
from engine.errors import BadRequestError, UnsupportedParamsError
from tests.credentials import StaticToken

BASE = {"vertex_credentials": StaticToken(), "vertex_project": "my-project", "vertex_location": "us-central1"}
USER = [{"role": "user", "content": "Hi"}]


def chat(model: str = "gemini-2.5-flash", **kwargs: Any) -> Any:
    return prepare("chat", {"model": f"vertex_ai/{model}", "messages": USER, **BASE, **kwargs})


def test_several_bad_parameters_give_one_error_listing_each() -> None:
    with pytest.raises(BadRequestError) as info:
        chat(temperature=9, top_p="x", n=0)
    error = info.value
    assert type(error) is BadRequestError and error.status_code == 400
    assert error.param == "temperature"  # the first offending one, in the table's order
    assert "3 problems" in error.message
    assert "'temperature' is 9, outside the range [0, 2]" in error.message
    assert "'top_p' must be of type number" in error.message and "'x'" in error.message
    assert "'n' is 0, outside the range [1, 8]" in error.message


def test_unknown_parameter_names_the_accepted_ones_closest_first() -> None:
    with pytest.raises(UnsupportedParamsError) as info:
        chat(temprature=0.5)
    message = info.value.message
    assert info.value.param == "temprature"
    assert "does not support parameter 'temprature' for chat; did you mean 'temperature'?" in message
    accepted = message.split("Accepted: ")[1]
    assert accepted.startswith("temperature, ")
    assert "top_p" in accepted and "max_completion_tokens" in accepted
    assert "drop_params=True" in message


def test_unknown_and_invalid_parameters_together_are_one_bad_request() -> None:
    with pytest.raises(BadRequestError) as info:
        chat(temprature=0.5, top_k=-1)
    assert type(info.value) is BadRequestError  # not only unsupported: a plain bad request
    assert info.value.param == "temprature"
    assert "temprature" in info.value.message and "'top_k' is -1" in info.value.message


def test_drop_params_drops_unknown_ones_but_still_reports_bad_values() -> None:
    with pytest.raises(BadRequestError) as info:
        chat(temprature=0.5, temperature=5, drop_params=True)
    assert info.value.param == "temperature" and "temprature" not in info.value.message
    assert "generationConfig" not in chat(temprature=0.5, drop_params=True).body  # type: ignore[operator]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_numbers_must_be_finite(value: float) -> None:
    with pytest.raises(BadRequestError, match="'temperature' must be of type number \\(a finite number\\)"):
        chat(temperature=value)
    with pytest.raises(BadRequestError, match="'seed' must be of type integer"):
        chat(seed=value)


def test_integers_fit_in_64_bits_and_integral_floats_become_integers() -> None:
    with pytest.raises(BadRequestError, match="'seed' must be of type integer \\(an integer \\(64-bit\\)\\)"):
        chat(seed=2**70)
    assert chat(seed=7.0).body["generationConfig"]["seed"] == 7  # type: ignore[index]


def test_bounds_on_a_value_that_is_no_number_are_a_type_error_not_a_crash() -> None:
    with pytest.raises(BadRequestError, match="'max_tokens' must be of type integer"):
        chat(max_tokens="12")


def test_error_messages_quote_values_short() -> None:
    huge = "x" * 5_000_000
    with pytest.raises(BadRequestError) as info:
        chat(temperature=huge, top_p=[huge])
    assert len(info.value.message) < 600
    assert "5000000 chars" in info.value.message


def test_max_completion_tokens_wins_over_max_tokens_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    # specs/README.md "Two parameters, one target": the spec's documented precedence (LiteLLM's).
    with caplog.at_level(logging.WARNING, logger="vertexlate"):
        body = chat(max_tokens=100, max_completion_tokens=200).body
    assert body["generationConfig"]["maxOutputTokens"] == 200  # type: ignore[index]
    assert "max_tokens and max_completion_tokens both set generationConfig.maxOutputTokens" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vertexlate"):
        assert chat(max_tokens=50, max_completion_tokens=50).body["generationConfig"]["maxOutputTokens"] == 50  # type: ignore[index]
    assert caplog.text == ""


def test_anthropic_caller_value_is_never_overwritten_by_a_default() -> None:
    body = chat("claude-sonnet-4@20250514", max_completion_tokens=321).body
    assert body["max_tokens"] == 321  # type: ignore[index]


def test_two_parameters_setting_one_field_differently_are_refused() -> None:
    with pytest.raises(BadRequestError) as info:
        chat(reasoning_effort="low", thinking={"type": "enabled", "budget_tokens": 2048})
    assert info.value.param == "reasoning_effort"
    assert "'reasoning_effort' and 'thinking' both set generationConfig.thinkingConfig.thinkingBudget" in (
        info.value.message
    )
    # The same setting twice is no conflict.
    same = chat(reasoning_effort="low", thinking={"type": "enabled", "budget_tokens": 1024}).body
    assert same["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 1024  # type: ignore[index]


def test_timeout_none_means_no_limit_and_absent_means_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert chat(timeout=None).timeout == httpx.Timeout(None)
    assert chat(request_timeout=None).timeout == httpx.Timeout(None)
    assert chat().timeout.read == 600.0
    assert chat(timeout=5).timeout.read == 5.0
    monkeypatch.setattr(engine, "request_timeout", 30.0)
    assert chat().timeout.read == 30.0
    monkeypatch.setattr(engine, "request_timeout", None)
    assert chat().timeout == httpx.Timeout(None)


def test_other_none_options_still_mean_not_set() -> None:
    call = chat(num_retries=None, drop_params=None, stream=None, extra_headers=None)
    assert call.num_retries == 0 and call.stream is False


def test_an_unknown_parameter_does_not_hide_a_bad_message() -> None:
    with pytest.raises(BadRequestError) as info:
        prepare(
            "chat",
            {
                "model": "vertex_ai/gemini-2.5-flash",
                "messages": [{"role": "nobody"}],
                "temprature": 1,
                **BASE,
            },
        )
    assert "temprature" in info.value.message and "nobody" in info.value.message
