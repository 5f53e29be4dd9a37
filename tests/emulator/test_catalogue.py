"""The emulator's model catalogue: Vertex's 404 for unknown publisher models, and agreement with the specs.

The catalogue (engine/emulator/models.yaml) is the emulator's own data, so the engine's specs and the
emulator can disagree; ``test_every_spec_model_is_in_the_emulator_catalogue`` lists each difference,
and ``KNOWN_DIFFERENCES`` holds the ones that are deliberate.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from engine.emulator import Emulator, catalogue
from engine.emulator.catalogue import GEMINI_THROUGH_PREDICT
from engine.emulator.discovery import validator
from engine.registry import Registry
from engine.request import Place, render_url

from .helpers import PROJECT, model_path, parent_path, user

# (publisher, model id, method) the specs call that the emulator's catalogue does not serve, and why.
KNOWN_DIFFERENCES: dict[tuple[str, str, str], str] = {}


def _spec_calls() -> set[tuple[str, str, str]]:
    """(publisher, model id, method) for every concrete model name the specs list, by the URL the engine builds."""
    registry = Registry()
    calls = set()
    for family in registry.families:
        for entry in family.models:
            if entry.regex is not None:  # patterns stand for names the emulator cannot enumerate
                continue
            for name, op in family.operations.items():
                if not entry.supports(name) or op.method != "POST":
                    continue
                resolved = registry.resolve(entry.pattern, name)
                url = render_url(resolved, op, False, Place("p", "l", "http://h"), ())
                path = urlsplit(url).path
                if "/publishers/" in path:
                    _, _, rest = path.partition("/publishers/")
                    publisher, _, model_verb = rest.partition("/models/")
                    model, _, verb = model_verb.partition(":")
                    if model != "count-tokens":
                        calls.add((publisher, model, verb))
                elif path.endswith("/endpoints/openapi/chat/completions"):
                    publisher, _, model = resolved.model_id.partition("/")
                    calls.add((publisher, model, "chat/completions"))
                elif path.endswith("/text:synthesize") and resolved.model_id:
                    calls.add(("google", resolved.model_id, "text:synthesize"))
    return calls


def test_every_spec_model_is_in_the_emulator_catalogue() -> None:
    calls = _spec_calls()
    assert len(calls) > 100  # the derivation found the specs' models, in each URL form
    assert {
        ("google", "gemini-2.5-flash", "generateContent"),
        ("anthropic", "claude-opus-4-6", "rawPredict"),
        ("meta", "llama-3.3-70b-instruct-maas", "chat/completions"),
        ("google", "gemini-2.5-flash-tts", "text:synthesize"),
    } <= calls
    missing = sorted(c for c in calls if c not in KNOWN_DIFFERENCES and catalogue.find(c[0], c[1]) is None)
    assert missing == [], "spec models the emulator's catalogue does not list"
    wrong = sorted(
        (c, sorted(entry.methods))
        for c in calls
        if (entry := catalogue.find(c[0], c[1])) is not None and c[2] not in entry.methods
    )
    assert wrong == [], "spec models called with a method the catalogue says they do not answer"
    stale = sorted(c for c in KNOWN_DIFFERENCES if c not in calls or catalogue.find(c[0], c[1]) is not None)
    assert stale == [], "allow-list entries that no longer differ: remove them"


def test_catalogue_lookup() -> None:
    gemini = catalogue.find("google", "gemini-2.5-flash")
    assert gemini is not None and gemini.format == "gemini" and "generateContent" in gemini.methods
    assert catalogue.find("google", "gemini-9.9-ultra") is None
    dated = catalogue.find("anthropic", "claude-sonnet-4-5")  # a bare id finds its one dated version
    assert dated is not None and dated.model == "claude-sonnet-4-5@20250929"
    assert catalogue.find("anthropic", "claude-sonnet-4-5@20990101") is None
    assert gemini.publisher_model()["name"] == "publishers/google/models/gemini-2.5-flash"
    formats = {e.format for e in catalogue.entries()}
    assert {
        "gemini",
        "imagen",
        "text-embedding",
        "anthropic",
        "mistral",
        "ai21",
        "openai-chat",
        "tts",
    } <= formats


@pytest.mark.parametrize(
    ("api", "schema"),
    [
        ("aiplatform.v1", "GoogleCloudAiplatformV1PublisherModel"),
        ("aiplatform.v1beta1", "GoogleCloudAiplatformV1beta1PublisherModel"),
    ],
)
def test_publisher_model_json_fits_the_discovery_schema(api: str, schema: str) -> None:
    check = validator(api, schema)
    problems = {
        e.name: [x.message for x in check.iter_errors(e.publisher_model())] for e in catalogue.entries()
    }
    assert {name: found for name, found in problems.items() if found} == {}


def test_unknown_publisher_model_is_vertex_404(client: httpx.Client) -> None:
    answer = client.post(model_path("gemini-9.9-ultra", "generateContent"), json=user("x"))
    name = f"projects/{PROJECT}/locations/us-central1/publishers/google/models/gemini-9.9-ultra"
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "code": 404,
            "message": f"Publisher Model `{name}` was not found or your project does not have access to it. "
            "Please ensure you are using a valid model version. For more information, see: "
            "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions",
            "status": "NOT_FOUND",
        }
    }


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (model_path("imagen-9", "predict"), {"instances": [{"prompt": "x"}]}),
        (model_path("claude-nonesuch", "rawPredict", publisher="anthropic"), {}),
        (model_path("mistral-nonesuch", "rawPredict", publisher="mistralai"), {}),
    ],
)
def test_every_publisher_route_checks_the_catalogue(client: httpx.Client, path: str, body: dict) -> None:
    answer = client.post(path, json=body)
    assert answer.status_code == 404 and "was not found or your project" in answer.json()["error"]["message"]


def test_maas_body_model_is_checked(client: httpx.Client) -> None:
    path = f"{parent_path()}/endpoints/openapi/chat/completions"
    hello = [{"role": "user", "content": "hi"}]
    assert client.post(path, json={"model": "zai-org/glm-5-maas", "messages": hello}).status_code == 200
    answer = client.post(path, json={"model": "zai-org/glm-0-maas", "messages": hello})
    assert answer.status_code == 404
    assert "/publishers/zai-org/models/glm-0-maas` was not found" in answer.json()["error"]["message"]


def test_gemini_through_predict_is_refused_as_vertex_does(client: httpx.Client) -> None:
    answer = client.post(model_path("gemini-2.5-flash", "predict"), json={"instances": [{"content": "x"}]})
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": 400,
        "message": GEMINI_THROUGH_PREDICT,
        "status": "FAILED_PRECONDITION",
    }


def test_accepted_models_are_served_until_reset(emulator: Emulator, client: httpx.Client) -> None:
    path = model_path("gemini-made-up", "generateContent")
    assert httpx.post(
        f"{emulator.url}/emulator/accept-models", json={"models": ["gemini-made-up"]}
    ).json() == {"accepted": ["gemini-made-up"]}
    assert client.post(path, json=user("x")).status_code == 200
    emulator.reset()
    assert client.post(path, json=user("x")).status_code == 404
    assert httpx.post(f"{emulator.url}/emulator/accept-models", json={"models": "x"}).status_code == 400


def test_accept_any_model_restores_the_echo() -> None:
    with Emulator(accept_any_model=True) as emu, httpx.Client(base_url=emu.url, timeout=10) as http:
        token, _ = emu.state.issue_token("someone@example.iam.gserviceaccount.com", ())
        answer = http.post(
            model_path("gemini-anything", "generateContent"),
            json=user("hi"),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.json()["candidates"][0]["content"]["parts"][0]["text"] == "Echo: hi"


def test_batch_job_on_an_unknown_model_is_refused(client: httpx.Client) -> None:
    job = {
        "displayName": "x",
        "model": "publishers/google/models/gemini-9.9-ultra",
        "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": ["gs://b/in.jsonl"]}},
        "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": "gs://b/out"}},
    }
    answer = client.post(f"{parent_path()}/batchPredictionJobs", json=job)
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": 400,
        "message": "Do not support publisher model gemini-9.9-ultra",
        "status": "INVALID_ARGUMENT",
    }


def test_get_publisher_model_answers_from_the_catalogue(client: httpx.Client) -> None:
    got = client.get("/v1/publishers/anthropic/models/claude-sonnet-4-5").json()
    assert got["name"] == "publishers/anthropic/models/claude-sonnet-4-5" and got["versionId"] == "20250929"
    preview = client.get(f"{parent_path()}/publishers/google/models/gemini-3-pro-preview").json()
    assert preview["launchStage"] == "PUBLIC_PREVIEW" and preview["versionState"] == "VERSION_STATE_UNSTABLE"
    missing = client.get("/v1/publishers/google/models/gemini-9.9-ultra")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"].startswith(
        "Publisher Model `publishers/google/models/gemini-9.9-ultra` was not found"
    )


# The vertexai SDK's choice of class by PublisherModel.predictSchemata.instanceSchemaUri
# (googleapis/python-aiplatform vertexai/_model_garden/_model_garden_models.py `_get_model_info`; the URIs are
# its classes' `_INSTANCE_SCHEMA_URI`): a GET of the publisher model must carry the right one.
SDK_CLASS_BY_SCHEMA = {
    "gs://google-cloud-aiplatform/schema/predict/instance/text_embedding_1.0.0.yaml": "TextEmbeddingModel",
    "gs://google-cloud-aiplatform/schema/predict/instance/vision_generative_model_1.0.0.yaml": "ImageGenerationModel",
    "gs://google-cloud-aiplatform/schema/predict/instance/vision_embedding_model_1.0.0.yaml": "MultiModalEmbeddingModel",
    "gs://google-cloud-aiplatform/schema/predict/instance/text_generation_1.0.0.yaml": "TextGenerationModel",
    "gs://google-cloud-aiplatform/schema/predict/instance/chat_generation_1.0.0.yaml": "ChatModel",
    "gs://google-cloud-aiplatform/schema/predict/instance/code_generation_1.0.0.yaml": "CodeGenerationModel",
    "gs://google-cloud-aiplatform/schema/predict/instance/codechat_generation_1.0.0.yaml": "CodeChatModel",
}


@pytest.mark.parametrize(
    ("model", "sdk_class"),
    [
        ("text-embedding-005", "TextEmbeddingModel"),
        ("textembedding-gecko@003", "TextEmbeddingModel"),
        ("gemini-embedding-001", "TextEmbeddingModel"),
        ("imagen-4.0-generate-001", "ImageGenerationModel"),
        ("multimodalembedding@001", "MultiModalEmbeddingModel"),
        ("chat-bison@002", "ChatModel"),
        ("code-gecko@002", "CodeGenerationModel"),
    ],
)
def test_get_publisher_model_gives_what_from_pretrained_reads(
    client: httpx.Client, model: str, sdk_class: str
) -> None:
    answer = client.get(f"/v1/publishers/google/models/{model}")
    assert answer.status_code == 200
    found = answer.json()
    base, _, version = model.partition("@")
    assert found["name"] == f"publishers/google/models/{base}"
    assert found["versionId"] == (version or "default")
    assert found["launchStage"] in ("GA", "PUBLIC_PREVIEW") and found["openSourceCategory"] == "PROPRIETARY"
    assert SDK_CLASS_BY_SCHEMA[found["predictSchemata"]["instanceSchemaUri"]] == sdk_class
    # _get_model_info: the template, {user-project} read as {project}, is the endpoint the SDK then calls
    template = found["publisherModelTemplate"].replace("{user-project}", "{project}")
    endpoint = template.format(project=PROJECT, location="us-central1")
    assert endpoint == f"projects/{PROJECT}/locations/us-central1/publishers/google/models/{model}"
    predicted = client.post(f"/v1/{endpoint}:predict", json={"instances": [{"content": "x"}]})
    assert predicted.status_code == 200


def test_gemini_publisher_model_has_no_predict_schemata(client: httpx.Client) -> None:
    found = client.get(f"{parent_path()}/publishers/google/models/gemini-2.5-flash").json()
    assert "predictSchemata" not in found and found["versionId"] == "default"


def test_list_publisher_models_pages_through_the_catalogue(client: httpx.Client) -> None:
    names, token, pages = [], None, 0
    while True:
        params = {"pageSize": 7, **({"pageToken": token} if token else {})}
        answer = client.get("/v1beta1/publishers/google/models", params=params)
        assert answer.status_code == 200
        page = answer.json()
        assert len(page["publisherModels"]) <= 7
        names += [m["name"] for m in page["publisherModels"]]
        pages += 1
        token = page.get("nextPageToken")
        if not token:
            break
    expected = [e.publisher_model()["name"] for e in catalogue.listed("google")]
    assert names == expected and pages == -(-len(expected) // 7)
    assert len(set(names)) == len(names)  # one per model id without listAllVersions
    assert "publishers/google/models/gemini-1.5-pro" not in names  # retired models are not listed
    every = client.get(
        "/v1beta1/publishers/google/models", params={"listAllVersions": "true", "pageSize": 1000}
    )
    assert len(every.json()["publisherModels"]) == len(catalogue.listed("google", all_versions=True))
    check = validator("aiplatform.v1beta1", "GoogleCloudAiplatformV1beta1ListPublisherModelsResponse")
    assert list(check.iter_errors(page)) == []


def test_list_publisher_models_refuses_what_it_cannot_apply(client: httpx.Client) -> None:
    bad_token = client.get("/v1beta1/publishers/google/models", params={"pageToken": "not-a-token"})
    assert bad_token.status_code == 400 and bad_token.json()["error"]["message"] == "Invalid page token."
    filtered = client.get("/v1beta1/publishers/google/models", params={"filter": "x", "orderBy": "name"})
    assert filtered.status_code == 400 and "filter, orderBy" in filtered.json()["error"]["message"]
    assert client.get("/v1/publishers/google/models").status_code == 404  # v1 has no publishers.models.list
