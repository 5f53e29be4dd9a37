"""``:predict`` for the instance/parameters models: embeddings, Imagen, PaLM text/chat/code.

Shapes follow Google's model references:
text embeddings https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api
(``predictions[].embeddings{values, statistics{token_count, truncated}}``),
multimodal embeddings https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/multimodal-embeddings-api
(``textEmbedding``, ``imageEmbedding``, ``videoEmbeddings[{startOffsetSec, endOffsetSec, embedding}]``),
Imagen https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/imagen-api
(``predictions[{bytesBase64Encoded, mimeType}]``), and the PaLM text/chat/code-completion
references (``content``, ``safetyAttributes``, ``citationMetadata``; chat ``candidates[{author, content}]``;
token counts in ``metadata.tokenMetadata{inputTokenCount, outputTokenCount}{totalTokens,
totalBillableCharacters}``, as in the recorded chat-bison reply in tests/fixtures/partners/palm_chat_bison.json).
Publisher models refuse more instances per request than Google allows (engine/emulator/limits.py).
The request envelope is validated against ``GoogleCloudAiplatformV1PredictRequest``.
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.responses import JSONResponse, Response

from engine.emulator import media
from engine.emulator.errors import google_error
from engine.emulator.limits import predict_limits, too_many_instances, video_limits
from engine.emulator.reply import Reply
from engine.emulator.routing import (
    ENDPOINT,
    EXPRESS_MODEL,
    PUBLISHER_MODEL,
    Call,
    Route,
    endpoint_missing,
    route,
)
from engine.emulator.streaming import early
from engine.emulator.text import collect_texts, count_tokens, echo
from engine.emulator.validation import parse
from engine.emulator.vectors import embed

SAFETY = {"blocked": False, "categories": [], "scores": []}
IMAGEN = ("imagen", "imagegeneration")
ASPECTS = {"1:1": (8, 8), "16:9": (16, 9), "9:16": (9, 16), "4:3": (8, 6), "3:4": (6, 8)}


def _text_embedding(instance: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    content = str(instance.get("content", ""))
    tokens = count_tokens(content)
    return {
        "embeddings": {
            "values": embed(
                f"{instance.get('task_type', '')}|{content}",
                int(parameters.get("outputDimensionality") or 768),
            ),
            "statistics": {"token_count": tokens, "truncated": False},
        }
    }


def _media_key(item: dict[str, Any]) -> str:
    return str(item.get("gcsUri") or item.get("bytesBase64Encoded") or "")


def _multimodal(instance: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    size = int(parameters.get("dimension") or 1408)
    prediction: dict[str, Any] = {}
    if "text" in instance:
        prediction["textEmbedding"] = embed("text|" + str(instance["text"]), size)
    if "image" in instance:
        prediction["imageEmbedding"] = embed("image|" + _media_key(instance["image"]), size)
    if "video" in instance:
        video = instance["video"]
        config = video.get("videoSegmentConfig") or {}
        start = int(config.get("startOffsetSec", 0))
        end = int(config.get("endOffsetSec", start + 16))
        step = int(config.get("intervalSec", 16))
        prediction["videoEmbeddings"] = [
            {
                "startOffsetSec": s,
                "endOffsetSec": min(s + step, end),
                "embedding": embed(f"video|{_media_key(video)}|{s}", size),
            }
            for s in range(start, end, step)
        ]
    return prediction


def _images(instance: dict[str, Any], parameters: dict[str, Any]) -> list[dict[str, Any]]:
    width, height = ASPECTS.get(str(parameters.get("aspectRatio", "1:1")), (8, 8))
    seed = f"{instance.get('prompt')}|{parameters.get('seed')}|{parameters.get('negativePrompt')}"
    count = int(parameters.get("sampleCount") or 1)
    return [
        {
            "bytesBase64Encoded": base64.b64encode(media.png(f"{seed}|{i}", width, height)).decode("ascii"),
            "mimeType": "image/png",
        }
        for i in range(count)
    ]


def _palm_text(text: str) -> dict[str, Any]:
    return {"content": text, "safetyAttributes": SAFETY, "citationMetadata": {"citations": []}}


def _palm_chat(text: str) -> dict[str, Any]:
    return {
        "candidates": [{"author": "bot", "content": text}],
        "safetyAttributes": [SAFETY],
        "citationMetadata": [{"citations": []}],
    }


def _said(instance: dict[str, Any]) -> str:
    if "messages" in instance:
        messages = instance["messages"] or [{}]
        return str(messages[-1].get("content", ""))
    return str(instance.get("prompt") or instance.get("prefix") or "")


def _is_palm(model: str, instance: dict[str, Any]) -> bool:
    """True for PaLM text/chat/code instances: none of the embedding models' documented fields."""
    return not (
        "content" in instance
        or {"image", "video"} & instance.keys()
        or ("text" in instance and model.startswith("multimodalembedding"))
    )


def _prediction(model: str, instance: dict[str, Any], parameters: dict[str, Any], reply: Reply) -> Any:
    """One prediction, chosen by the instance's documented fields (and Imagen by model id)."""
    if "content" in instance:
        return _text_embedding(instance, parameters)
    if not _is_palm(model, instance):
        return _multimodal(instance, parameters)
    text = reply.text if reply.text is not None else echo(_said(instance))
    if "messages" in instance:
        return _palm_chat(text)
    return _palm_text(text)


def _token_count(texts: list[str]) -> dict[str, int]:
    """PaLM's ``{totalTokens, totalBillableCharacters}`` (billable characters exclude whitespace)."""
    return {
        "totalTokens": sum(count_tokens(t) for t in texts),
        "totalBillableCharacters": sum(len("".join(t.split())) for t in texts),
    }


def _token_metadata(instances: list[dict[str, Any]], predictions: list[Any]) -> dict[str, Any]:
    """PaLM's ``metadata.tokenMetadata``: every prompt text in, every answer text out."""
    return {
        "tokenMetadata": {
            "inputTokenCount": _token_count([t for i in instances for t in collect_texts(i)]),
            "outputTokenCount": _token_count([t for p in predictions for t in collect_texts(p, {"content"})]),
        }
    }


def _metadata(model: str, instances: list[dict[str, Any]], predictions: list[Any]) -> dict[str, Any]:
    """Publisher-model ``metadata``: token counts for PaLM, billable characters otherwise."""
    if all(_is_palm(model, i) for i in instances) and not model.startswith(IMAGEN):
        return _token_metadata(instances, predictions)
    return {"billableCharacterCount": sum(len(_said(i) or str(i.get("content", ""))) for i in instances)}


async def predict(call: Call) -> Response:
    """``:predict`` on a publisher model or an endpoint."""
    problem = parse(call, "GoogleCloudAiplatformV1PredictRequest")
    if problem:
        return problem
    instances = call.body.get("instances")
    if not instances or not all(isinstance(i, dict) for i in instances):
        return google_error(
            400, "Request contains an invalid argument: instances must be a non-empty list of objects."
        )
    refused = None if call.params.get("endpoint") else too_many_instances(call.model or "", len(instances))
    if refused is not None:
        return refused
    reply = call.reply(Reply())
    done = await early(reply)
    if done is not None:
        return done
    parameters = call.body.get("parameters") or {}
    if not isinstance(parameters, dict):
        return google_error(400, "Request contains an invalid argument: parameters must be an object.")
    model = call.model or ""
    refused = predict_limits(model, parameters) or video_limits(instances)
    if refused is not None:
        return refused
    if model.startswith(IMAGEN):
        predictions = [p for i in instances for p in _images(i, parameters)]
    else:
        predictions = [_prediction(model, i, parameters, reply) for i in instances]
    result: dict[str, Any] = {"predictions": predictions}
    if call.params.get("endpoint"):
        result["deployedModelId"] = call.params["endpoint"]
    else:
        result["metadata"] = _metadata(model, instances, predictions)
    return JSONResponse(result)


ROUTES: list[Route] = [
    route("POST", PUBLISHER_MODEL + ":predict", predict),
    route("POST", EXPRESS_MODEL + ":predict", predict),
    route("POST", ENDPOINT + ":predict", predict, missing=endpoint_missing),
]
