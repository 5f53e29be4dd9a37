"""Property-based fuzzing of every public library call: the only exceptions a caller may see are engine.errors types.

Each test throws malformed messages, parameters, options and credentials (tests/hardening/strategies.py)
at one public call pointed at the emulator over real HTTP, and asserts that whatever happens is a
success or an ``engine.errors.APIError`` subclass: never a bare ``TypeError``, ``AttributeError``,
``UnicodeEncodeError``, ``RecursionError`` or ``ValueError`` (architecture rule 6).

Deterministic in CI: ``derandomize=True`` and no example database. The default budget is a few
thousand examples in all, well under a minute on one core; ``VERTEXLATE_FUZZ_EXAMPLES=<n>`` runs
``n`` examples per test instead (e.g. 5000 for a long local run).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.errors import APIError

from .strategies import ANY, MESSAGES, MODELS, OPTIONS, PARAMS, SURROGATE, URLS, nest

_OVERRIDE = os.environ.get("VERTEXLATE_FUZZ_EXAMPLES")
# The strategies pass 5000-character strings (and deeper structures): an error quoting one whole is longer.
QUOTE_LIMIT = 4500


def fuzz(examples: int) -> Callable[[Any], Any]:
    """Hypothesis settings for one fuzz test: deterministic, no database, ``examples`` runs."""
    return settings(
        max_examples=int(_OVERRIDE) if _OVERRIDE else examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


@pytest.fixture(scope="module")
def base(emulator: Any, service_account: dict[str, Any]) -> dict[str, Any]:
    """Options pointing a call at the emulator; the fuzzed options are merged over them."""
    return {
        "api_base": emulator.url,
        "vertex_credentials": service_account,
        "vertex_location": "us-central1",
        "vertex_project": "fuzz-project",
        "num_retries": 0,
        "timeout": 10,
    }


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _bounded(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Valid but slow values (many retries with backoff) are brought down: the suite must stay fast."""
    for name in ("num_retries", "max_retries"):
        value = kwargs.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            kwargs[name] = 0
    for name in ("timeout", "request_timeout"):
        value = kwargs.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 10:
            kwargs[name] = 10
    return kwargs


def _consume(result: Any) -> None:
    if hasattr(result, "__iter__") and hasattr(result, "__next__"):
        for _ in result:
            pass


async def _aconsume(result: Any) -> None:
    if hasattr(result, "__aiter__"):
        async for _ in result:
            pass


def only_typed_errors(fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    """Run ``fn(**kwargs)`` to the end; anything but success or an engine error fails the test."""
    try:
        _consume(fn(**_bounded(kwargs)))
    except APIError as exc:
        assert len(exc.message) < QUOTE_LIMIT, f"error message of {len(exc.message)} chars quotes input whole"


def only_typed_errors_async(
    loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], kwargs: dict[str, Any]
) -> None:
    async def go() -> None:
        await _aconsume(await fn(**_bounded(kwargs)))

    try:
        loop.run_until_complete(go())
    except APIError as exc:
        assert len(exc.message) < QUOTE_LIMIT


CHAT_MODELS = st.one_of(
    st.sampled_from(
        [
            "vertex_ai/gemini-2.5-flash",
            "vertex_ai/claude-3-5-sonnet-v2@20241022",
            "vertex_ai/meta/llama-3.1-405b-instruct-maas",
            "vertex_ai/mistral-large@2407",
            "vertex_ai/openai/1234567890",
        ]
    ),
    MODELS,
)


@fuzz(900)
@given(model=CHAT_MODELS, messages=MESSAGES, params=PARAMS, options=OPTIONS)
def test_completion(base: dict[str, Any], model: Any, messages: Any, params: Any, options: Any) -> None:
    only_typed_errors(engine.completion, {**base, "model": model, "messages": messages, **params, **options})


@fuzz(300)
@given(model=CHAT_MODELS, messages=MESSAGES, params=PARAMS, options=OPTIONS)
def test_acompletion(
    base: dict[str, Any],
    loop: asyncio.AbstractEventLoop,
    model: Any,
    messages: Any,
    params: Any,
    options: Any,
) -> None:
    kwargs = {**base, "model": model, "messages": messages, **params, **options}
    only_typed_errors_async(loop, engine.acompletion, kwargs)


@fuzz(300)
@given(model=CHAT_MODELS, messages=MESSAGES, params=PARAMS, stream_options=st.one_of(st.none(), ANY))
def test_streaming(base: dict[str, Any], model: Any, messages: Any, params: Any, stream_options: Any) -> None:
    kwargs = {**base, "model": model, "messages": messages, **params}
    only_typed_errors(engine.completion, {**kwargs, "stream": True, "stream_options": stream_options})


@fuzz(150)
@given(model=CHAT_MODELS, messages=MESSAGES, params=PARAMS)
def test_astreaming(
    base: dict[str, Any], loop: asyncio.AbstractEventLoop, model: Any, messages: Any, params: Any
) -> None:
    kwargs = {**base, "model": model, "messages": messages, **params, "stream": True}
    only_typed_errors_async(loop, engine.acompletion, kwargs)


@fuzz(250)
@given(
    model=st.one_of(st.sampled_from(["vertex_ai/codestral@2405", "vertex_ai/text-bison@002"]), MODELS),
    prompt=st.one_of(st.text(max_size=20), ANY),
    params=PARAMS,
    options=OPTIONS,
)
def test_text_completion(base: dict[str, Any], model: Any, prompt: Any, params: Any, options: Any) -> None:
    only_typed_errors(engine.text_completion, {**base, "model": model, "prompt": prompt, **params, **options})


@fuzz(300)
@given(
    model=st.one_of(
        st.sampled_from(
            [
                "vertex_ai/text-embedding-005",
                "vertex_ai/gemini-embedding-001",
                "vertex_ai/multimodalembedding@001",
                "vertex_ai/openai/1234567890",
                "vertex_ai/1234567890",
            ]
        ),
        MODELS,
    ),
    input_=st.one_of(st.text(max_size=20), st.lists(st.text(max_size=5), max_size=3), ANY, URLS),
    params=PARAMS,
    options=OPTIONS,
)
def test_embedding(base: dict[str, Any], model: Any, input_: Any, params: Any, options: Any) -> None:
    only_typed_errors(engine.embedding, {**base, "model": model, "input": input_, **params, **options})


@fuzz(250)
@given(
    model=st.one_of(
        st.sampled_from(["vertex_ai/imagen-3.0-generate-002", "vertex_ai/imagegeneration@006"]), MODELS
    ),
    prompt=st.one_of(st.text(max_size=20), ANY),
    n=st.one_of(st.none(), st.sampled_from([1, 2, 4, 5, 2**63, 1e308, -1, 0, float("nan"), "2"]), ANY),
    params=PARAMS,
)
def test_image_generation(base: dict[str, Any], model: Any, prompt: Any, n: Any, params: Any) -> None:
    only_typed_errors(engine.image_generation, {**base, "model": model, "prompt": prompt, "n": n, **params})


@fuzz(300)
@given(
    input_=st.one_of(st.text(max_size=20), st.just("<speak>hi</speak>"), ANY),
    voice=st.one_of(
        st.none(), st.sampled_from(["alloy", "nova", "nope"]), ANY, st.dictionaries(st.text(max_size=8), ANY)
    ),
    audio=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(
                ["audioEncoding", "speakingRate", "speaking_rate", "pitch", "sampleRateHertz", "bogus"]
            ),
            st.one_of(ANY, st.sampled_from(["LINEAR16", "LINEAR22", "MP3", "10", "1.5", "-30", "nan"])),
            max_size=3,
        ),
        ANY,
    ),
    params=PARAMS,
)
def test_speech(base: dict[str, Any], input_: Any, voice: Any, audio: Any, params: Any) -> None:
    kwargs = {**base, "model": "vertex_ai/", "input": input_, "voice": voice, "audioConfig": audio, **params}
    only_typed_errors(engine.speech, kwargs)


RESOURCE_CALLS = {
    "create_file": ("file", "purpose", "gcs_bucket_name", "gcs_folder", "storage_api_base"),
    "retrieve_file": ("file_id",),
    "file_content": ("file_id",),
    "create_batch": ("input_file_id", "endpoint", "completion_window", "model", "metadata"),
    "retrieve_batch": ("batch_id",),
    "cancel_batch": ("batch_id",),
    "list_batches": ("after", "limit"),
    "create_fine_tuning_job": ("model", "training_file", "validation_file", "hyperparameters", "suffix"),
    "retrieve_fine_tuning_job": ("fine_tuning_job_id",),
    "cancel_fine_tuning_job": ("fine_tuning_job_id",),
    "list_fine_tuning_jobs": ("after", "limit"),
    "create_cached_content": ("model", "messages", "ttl", "display_name", "tools"),
    "retrieve_cached_content": ("cached_content_id",),
    "delete_cached_content": ("cached_content_id",),
    "list_cached_contents": ("after", "limit"),
}
RESOURCE_VALUES = st.one_of(
    ANY,
    URLS,
    st.sampled_from(
        [
            "gs://bkt/o.jsonl",
            "gs://bkt%3FuserProject=x%26alt=media%23/o",
            "gs://%2E%2E/o",
            "..",
            "%2e%2e",
            "123",
            "projects/p/locations/us-central1/batchPredictionJobs/123",
            b'{"custom_id": "1"}\n',
            "3600s",
            "gemini-2.0-flash-001",
            {"n_epochs": "x"},
            MESSAGES,
        ]
    ),
)


@fuzz(450)
@given(
    name=st.sampled_from(sorted(RESOURCE_CALLS)),
    data=st.data(),
    options=OPTIONS,
)
def test_resource_calls(base: dict[str, Any], name: str, data: st.DataObject, options: Any) -> None:
    names = RESOURCE_CALLS[name]
    args = data.draw(st.dictionaries(st.sampled_from(names), RESOURCE_VALUES, max_size=len(names)))
    args = {k: (v if not isinstance(v, st.SearchStrategy) else data.draw(v)) for k, v in args.items()}
    only_typed_errors(getattr(engine, name), {**base, **args, **options})


def _mutated_service_account(account: dict[str, Any]) -> st.SearchStrategy[Any]:
    fields = ["type", "token_uri", "private_key", "client_email", "project_id", "private_key_id"]
    return st.builds(
        lambda drop, overrides: {**{k: v for k, v in account.items() if k not in drop}, **overrides},
        st.sets(st.sampled_from(fields), max_size=2),
        st.dictionaries(
            st.sampled_from(fields),
            st.one_of(ANY, st.sampled_from([None, "", "http://127.0.0.1:9/t"])),
            max_size=2,
        ),
    )


EXTERNAL = st.builds(
    lambda overrides: {
        "type": "external_account",
        "audience": "//iam.googleapis.com/x",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "http://127.0.0.1:9/token",
        "credential_source": {"file": "/nonexistent"},
        **overrides,
    },
    st.dictionaries(
        st.sampled_from(["audience", "subject_token_type", "token_url", "credential_source", "type"]),
        ANY,
        max_size=2,
    ),
)


@fuzz(300)
@given(data=st.data())
def test_credentials(base: dict[str, Any], service_account: dict[str, Any], data: st.DataObject) -> None:
    credentials = data.draw(
        st.one_of(
            _mutated_service_account(service_account),
            EXTERNAL,
            ANY,
            st.sampled_from(
                [
                    "/tmp",
                    "/no/such/file.json",
                    "/" + "a" * 5000,
                    "/tmp/a\x00b",
                    f"/tmp/{SURROGATE}",
                    "{",
                    "{}",
                    "[]",
                ]
            ),
            st.integers(0, 400).map(lambda d: "{" * d),
            st.integers(0, 3000).map(lambda d: '{"a":' * d + "1" + "}" * d),
        )
    )
    kwargs = {**base, "model": "vertex_ai/gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}
    only_typed_errors(engine.completion, {**kwargs, "vertex_credentials": credentials})


def test_deep_nesting_on_every_chat_family(base: dict[str, Any]) -> None:
    """The issue's example: messages nested thousands of levels deep, on Gemini, Claude and OpenAI-compatible."""
    for model in (
        "vertex_ai/gemini-2.5-flash",
        "vertex_ai/claude-3-5-sonnet-v2@20241022",
        "vertex_ai/meta/llama-3.1-405b-instruct-maas",
    ):
        for messages in (
            nest(5000, {"role": "user", "content": "x"}),
            [{"role": "user", "content": nest(5000)}],
        ):
            with pytest.raises(engine.BadRequestError, match="nested more than"):
                engine.completion(model=model, messages=messages, **base)


@fuzz(200)
@given(
    model=st.one_of(
        st.sampled_from(["vertex_ai/claude-3-5-sonnet-v2@20241022", "vertex_ai/gemini-2.5-flash"]), MODELS
    ),
    messages=MESSAGES,
    max_tokens=st.one_of(st.just(64), ANY),
    params=PARAMS,
    options=OPTIONS,
)
def test_anthropic_messages(
    base: dict[str, Any], model: Any, messages: Any, max_tokens: Any, params: Any, options: Any
) -> None:
    kwargs = {**base, "model": model, "messages": messages, "max_tokens": max_tokens, **params, **options}
    only_typed_errors(engine.anthropic_messages, kwargs)


@fuzz(200)
@given(
    model=st.one_of(st.just("vertex_ai/gemini-2.5-flash"), MODELS),
    input_=st.one_of(st.text(max_size=20), MESSAGES, ANY),
    params=PARAMS,
    options=OPTIONS,
)
def test_responses(base: dict[str, Any], model: Any, input_: Any, params: Any, options: Any) -> None:
    only_typed_errors(engine.responses, {**base, "model": model, "input": input_, **params, **options})
