"""google-genai (Vertex mode, default API version v1beta1) against the emulator over real HTTP.

Each test is a call a user of Google's SDK makes; the emulator must accept the SDK's wire form
(snake_case names inside some configs, v1beta1 paths) and answer in a shape the SDK parses.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import httpx
import pydantic
import pytest
from google import genai
from google.genai import types
from google.oauth2 import service_account

from engine.emulator import Emulator, catalogue
from tests.emulator.sdk.conftest import LOCATION, PROJECT

MODEL = "gemini-2.5-flash"


def calls(emulator: Emulator, suffix: str) -> list[dict]:
    return [r for r in emulator.requests() if r["path"].endswith(suffix)]


def test_generate_content_uses_v1beta1_and_echoes(genai_client: genai.Client, emulator: Emulator) -> None:
    response = genai_client.models.generate_content(model=MODEL, contents="hello there")
    assert response.text == "Echo: hello there"
    assert response.usage_metadata.prompt_token_count == 2
    [sent] = calls(emulator, ":generateContent")
    assert sent["path"].startswith(f"/v1beta1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/")


def test_generate_content_on_v1(emulator: Emulator, credentials: service_account.Credentials) -> None:
    client = genai.Client(
        vertexai=True,
        project=PROJECT,
        location=LOCATION,
        credentials=credentials,
        http_options={"base_url": emulator.url, "api_version": "v1"},
    )
    assert client.models.generate_content(model=MODEL, contents="on v1").text == "Echo: on v1"
    assert calls(emulator, ":generateContent")[0]["path"].startswith("/v1/projects/")


async def test_generate_content_async(genai_client: genai.Client) -> None:
    response = await genai_client.aio.models.generate_content(model=MODEL, contents="async hello")
    assert response.text == "Echo: async hello"


def test_generate_content_stream(genai_client: genai.Client) -> None:
    chunks = list(
        genai_client.models.generate_content_stream(model=MODEL, contents="one two three four five")
    )
    assert len(chunks) > 1
    assert "".join(c.text or "" for c in chunks) == "Echo: one two three four five"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP


def test_function_calling_declared_tool(genai_client: genai.Client, emulator: Emulator) -> None:
    emulator.script(MODEL, [{"function_calls": [{"name": "lookup", "args": {"q": "x"}}]}])
    declaration = types.FunctionDeclaration(
        name="lookup",
        description="Look something up.",
        parameters=types.Schema(type="OBJECT", properties={"q": types.Schema(type="STRING")}, required=["q"]),
    )
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[declaration])],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
    )
    response = genai_client.models.generate_content(model=MODEL, contents="find x", config=config)
    [call] = response.function_calls
    assert (call.name, call.args) == ("lookup", {"q": "x"})


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def test_automatic_function_calling_with_a_python_function(
    genai_client: genai.Client, emulator: Emulator
) -> None:
    emulator.script(MODEL, [{"function_calls": [{"name": "get_weather", "args": {"city": "Paris"}}]}])
    config = types.GenerateContentConfig(tools=[get_weather])
    response = genai_client.models.generate_content(model=MODEL, contents="weather in Paris?", config=config)
    # The SDK ran the function and sent its result back; the echo names what arrived.
    assert response.text == 'Echo: get_weather returned {"result": "sunny in Paris"}'
    first = calls(emulator, ":generateContent")[0]["body"]
    assert "parameters_json_schema" in first["tools"][0]["functionDeclarations"][0]  # the SDK's spelling


class Recipe(pydantic.BaseModel):
    name: str
    steps: list[str]


def test_response_schema_from_a_pydantic_model(genai_client: genai.Client) -> None:
    config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=Recipe)
    response = genai_client.models.generate_content(model=MODEL, contents="a recipe", config=config)
    assert isinstance(response.parsed, Recipe)
    assert response.parsed.steps


def test_thinking_config_returns_a_thought(genai_client: genai.Client) -> None:
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=128)
    )
    response = genai_client.models.generate_content(model=MODEL, contents="ponder", config=config)
    parts = response.candidates[0].content.parts
    assert parts[0].thought is True and parts[0].text == "Thinking about: ponder"
    assert response.text == "Echo: ponder"


def test_parts_from_bytes_and_from_uri(genai_client: genai.Client) -> None:
    contents = [
        types.Part.from_bytes(data=b"\x89PNG", mime_type="image/png"),
        types.Part.from_uri(file_uri="gs://bucket/cat.png", mime_type="image/png"),
        "what is this?",
    ]
    response = genai_client.models.generate_content(model=MODEL, contents=contents)
    assert response.text == "Echo: what is this?"


def test_speech_config_returns_audio(genai_client: genai.Client) -> None:
    voice = types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Kore"))
    config = types.GenerateContentConfig(
        response_modalities=["AUDIO"], speech_config=types.SpeechConfig(voice_config=voice)
    )
    response = genai_client.models.generate_content(model=MODEL, contents="say hi", config=config)
    blob = response.candidates[0].content.parts[0].inline_data
    assert blob.mime_type.startswith("audio/L16") and blob.data


def test_safety_settings_and_generation_config(genai_client: genai.Client, emulator: Emulator) -> None:
    config = types.GenerateContentConfig(
        temperature=0.1,
        max_output_tokens=3,
        stop_sequences=["never"],
        safety_settings=[
            types.SafetySetting(category="HARM_CATEGORY_HATE_SPEECH", threshold="BLOCK_ONLY_HIGH")
        ],
    )
    response = genai_client.models.generate_content(model=MODEL, contents="a b c d e", config=config)
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_count_and_compute_tokens_agree(genai_client: genai.Client) -> None:
    counted = genai_client.models.count_tokens(model=MODEL, contents="count these four")
    computed = genai_client.models.compute_tokens(model=MODEL, contents="count these four")
    assert counted.total_tokens == 3
    [info] = computed.tokens_info
    assert info.tokens == [b"count", b"these", b"four"]
    assert len(info.token_ids) == 3 and info.role == "user"


def test_embed_content_through_predict_and_embed_content(
    genai_client: genai.Client, emulator: Emulator
) -> None:
    text = genai_client.models.embed_content(
        model="text-embedding-005",
        contents=["a", "b"],
        config=types.EmbedContentConfig(output_dimensionality=8),
    )
    assert [len(e.values) for e in text.embeddings] == [8, 8]
    gemini = genai_client.models.embed_content(
        model="gemini-embedding-001", contents="a", config=types.EmbedContentConfig(output_dimensionality=16)
    )
    [embedding] = gemini.embeddings
    assert len(embedding.values) == 16
    assert calls(emulator, ":embedContent")  # the Gemini embedding model takes :embedContent


def test_get_publisher_model(genai_client: genai.Client) -> None:
    model = genai_client.models.get(model=MODEL)
    assert model.name == f"publishers/google/models/{MODEL}"


def test_models_list_pages_through_the_catalogue(genai_client: genai.Client, emulator: Emulator) -> None:
    """google-genai on Vertex lists base models with GET v1beta1/publishers/google/models (no project)."""
    listed = list(genai_client.models.list(config={"page_size": 10}))
    expected = catalogue.listed("google")
    assert [m.name for m in listed] == [e.publisher_model()["name"] for e in expected]
    pages = calls(emulator, "/publishers/google/models")
    assert len(pages) == -(-len(expected) // 10) and pages[0]["path"] == "/v1beta1/publishers/google/models"
    assert pages[0]["query"] == {"pageSize": "10"} and "pageToken" in pages[1]["query"]


def test_cached_content_lifecycle(genai_client: genai.Client) -> None:
    cache = genai_client.caches.create(
        model=MODEL,
        config=types.CreateCachedContentConfig(contents=["remember " * 20], ttl="300s", display_name="c"),
    )
    assert genai_client.caches.get(name=cache.name).name == cache.name
    updated = genai_client.caches.update(name=cache.name, config=types.UpdateCachedContentConfig(ttl="600s"))
    assert updated.expire_time > cache.expire_time
    assert [c.name for c in genai_client.caches.list()] == [cache.name]
    response = genai_client.models.generate_content(
        model=MODEL, contents="and now?", config=types.GenerateContentConfig(cached_content=cache.name)
    )
    assert response.usage_metadata.cached_content_token_count == 20
    genai_client.caches.delete(name=cache.name)
    assert list(genai_client.caches.list()) == []


def test_batch_job_runs_to_success(genai_client: genai.Client, emulator: Emulator) -> None:
    job = genai_client.batches.create(
        model=MODEL, src="gs://bucket/in.jsonl", config=types.CreateBatchJobConfig(dest="gs://bucket/out")
    )
    assert job.state == types.JobState.JOB_STATE_PENDING
    emulator.advance(1)
    done = genai_client.batches.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.dest.gcs_uri == "gs://bucket/out"
    assert [b.name for b in genai_client.batches.list()] == [job.name]


def test_batch_job_results_are_readable_from_the_built_in_storage(
    genai_client: genai.Client, emulator: Emulator
) -> None:
    """Input uploaded and results read through the emulator's Cloud Storage JSON API, job polled by the SDK."""
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    prompts = ["first prompt", "second prompt"]
    lines = "".join(
        json.dumps({"request": {"contents": [{"role": "user", "parts": [{"text": p}]}]}}) + "\n"
        for p in prompts
    )
    uploaded = httpx.post(
        f"{emulator.url}/upload/storage/v1/b/{bucket}/o",
        params={"uploadType": "media", "name": "in.jsonl"},
        content=lines.encode(),
        headers={"content-type": "application/jsonl"},
    )
    assert uploaded.status_code == 200
    job = genai_client.batches.create(
        model=MODEL, src=f"gs://{bucket}/in.jsonl", config={"dest": f"gs://{bucket}/out"}
    )
    states = [job.state]
    while job.state not in (types.JobState.JOB_STATE_SUCCEEDED, types.JobState.JOB_STATE_FAILED):
        assert len(states) < 10
        emulator.advance(emulator.state.job_step_seconds)
        job = genai_client.batches.get(name=job.name)
        states.append(job.state)
    assert states[0] == types.JobState.JOB_STATE_PENDING
    assert states[-1] == types.JobState.JOB_STATE_SUCCEEDED
    assert job.dest.gcs_uri == f"gs://{bucket}/out"
    listed = httpx.get(f"{emulator.url}/storage/v1/b/{bucket}/o", params={"prefix": "out/"}).json()
    [name] = [item["name"] for item in listed["items"] if item["name"].endswith("/predictions.jsonl")]
    media = httpx.get(
        f"{emulator.url}/storage/v1/b/{bucket}/o/{quote(name, safe='')}", params={"alt": "media"}
    )
    results = [json.loads(raw) for raw in media.text.splitlines()]
    assert [r["request"]["contents"][0]["parts"][0]["text"] for r in results] == prompts
    answers = [types.GenerateContentResponse.model_validate(r["response"]) for r in results]
    assert [a.text for a in answers] == [f"Echo: {p}" for p in prompts]
    assert all(r["status"] == "" for r in results)


def test_batch_inline_requests_are_not_a_vertex_source(genai_client: genai.Client) -> None:
    """google-genai refuses inlined requests on Vertex before sending (Vertex reads GCS or BigQuery)."""
    inline = [{"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}]
    with pytest.raises(ValueError, match="other sources are not supported"):
        genai_client.batches.create(model=MODEL, src=inline)


def test_tuning_job_runs_to_success(genai_client: genai.Client, emulator: Emulator) -> None:
    with pytest.warns(Warning):  # the SDK marks tuning experimental
        job = genai_client.tunings.tune(
            base_model=MODEL, training_dataset=types.TuningDataset(gcs_uri="gs://bucket/train.jsonl")
        )
    emulator.advance(1)
    done = genai_client.tunings.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.tuned_model.endpoint.endswith(job.name.rsplit("/", 1)[1])


def test_generate_images(genai_client: genai.Client) -> None:
    with pytest.warns(Warning):  # deprecated in favour of generate_content on image models
        response = genai_client.models.generate_images(
            model="imagen-4.0-generate-001",
            prompt="a cat",
            config=types.GenerateImagesConfig(number_of_images=2),
        )
    assert [i.image.image_bytes[:4] for i in response.generated_images] == [b"\x89PNG"] * 2


def test_errors_surface_as_the_sdks_api_error(genai_client: genai.Client, emulator: Emulator) -> None:
    emulator.script(MODEL, [{"status": 429}])
    with pytest.raises(genai.errors.ClientError) as raised:
        genai_client.models.generate_content(model=MODEL, contents="hi")
    assert raised.value.code == 429 and raised.value.status == "RESOURCE_EXHAUSTED"
