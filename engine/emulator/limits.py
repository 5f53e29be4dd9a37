"""Per-request instance limits Vertex AI enforces on publisher models' ``:predict``.

Why here: a client that forgets to split inputs must fail against the emulator as it
fails against Vertex, or tests of the splitting prove nothing. The numbers are Google's
published limits: 250 texts per request for text-embedding-00x and
text-multilingual-embedding-002, one for gemini-embedding-001
(https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/get-text-embeddings, "API limits"),
five for the retired textembedding-gecko generation, and one instance per request for
multimodalembedding (the instance holds at most one text, image and video; Google's SDK sends one).
The error text is the one Vertex returns, "5 instance(s) is allowed per prediction. Actual: 6"
(quoted in langchain-ai/langchain#5316).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from engine.emulator.errors import google_error

# Model-id prefix -> most instances per request; the first matching prefix wins.
MAX_INSTANCES: tuple[tuple[str, int], ...] = (
    ("gemini-embedding-", 1),
    ("multimodalembedding", 1),
    ("textembedding-gecko", 5),
    ("text-embedding-", 250),
    ("text-multilingual-embedding-", 250),
)


def max_instances(model: str) -> int | None:
    """The instance limit for ``model``, or None when the emulator enforces none."""
    return next((most for prefix, most in MAX_INSTANCES if model.startswith(prefix)), None)


def too_many_instances(model: str, count: int) -> Response | None:
    """Vertex's 400 INVALID_ARGUMENT when ``count`` instances exceed the model's limit."""
    most = max_instances(model)
    if most is None or count <= most:
        return None
    return google_error(400, f"{most} instance(s) is allowed per prediction. Actual: {count}")


# Output sizes and counts one request may ask for; outside them Vertex answers 400 (and the emulator
# must not try to build gigabytes). outputDimensionality: at most 768 for text-embedding-00x and
# text-multilingual-embedding-002, 3072 for gemini-embedding-001 (get-text-embeddings, "output
# dimensionality"); multimodalembedding `dimension`: 128, 256, 512 or 1408 (multimodal-embeddings-api);
# Imagen sampleCount: 1-4 for imagen-3/4, 1-8 for imagegeneration@00x (imagen-api). Model Garden servers
# have no documented bound: the emulator caps `dimensions` at 8192, the bound specs/model_garden.yaml uses.
MAX_DIMENSIONS: tuple[tuple[str, int], ...] = (
    ("gemini-embedding-", 3072),
    ("text-embedding-", 768),
    ("text-multilingual-embedding-", 768),
    ("textembedding-gecko", 768),
)
DEFAULT_MAX_DIMENSIONS = 3072
MULTIMODAL_DIMENSIONS = (128, 256, 512, 1408)
MAX_SAMPLES: tuple[tuple[str, int], ...] = (("imagegeneration", 8), ("imagen", 4))
ENDPOINT_MAX_DIMENSIONS = 8192


def _integer(value: Any) -> int | None:
    """A JSON integer (or an integral number / integer string, as proto3 JSON allows), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def out_of_range(
    name: str, value: Any, low: int, high: int, allowed: tuple[int, ...] = ()
) -> Response | None:
    """Vertex's 400 for a count or size outside ``[low, high]`` (or not one of ``allowed``); None if fine."""
    if value is None:
        return None
    number = _integer(value)
    if number is None or not low <= number <= high or (allowed and number not in allowed):
        expected = f"one of {', '.join(map(str, allowed))}" if allowed else f"between {low} and {high}"
        shown = str(value)[:40]
        return google_error(400, f"Invalid value for {name}: {shown}. It must be {expected}.")
    return None


def max_dimensions(model: str) -> int:
    """The largest output dimensionality ``model`` offers (``DEFAULT_MAX_DIMENSIONS`` when unlisted)."""
    return next((n for prefix, n in MAX_DIMENSIONS if model.startswith(prefix)), DEFAULT_MAX_DIMENSIONS)


def predict_limits(model: str, parameters: Any) -> Response | None:
    """The 400 for a ``:predict`` whose parameters ask for more than the model allows."""
    if not isinstance(parameters, dict):
        return None
    if model.startswith(("imagen", "imagegeneration")):
        most = next(n for prefix, n in MAX_SAMPLES if model.startswith(prefix))
        return out_of_range("sampleCount", parameters.get("sampleCount"), 1, most)
    if model.startswith("multimodalembedding"):
        return out_of_range("dimension", parameters.get("dimension"), 1, 1408, MULTIMODAL_DIMENSIONS)
    return out_of_range(
        "outputDimensionality", parameters.get("outputDimensionality"), 1, max_dimensions(model)
    )


MIN_VIDEO_INTERVAL = 4  # multimodal-embeddings-api: "The minimum value for intervalSec is 4"
MAX_VIDEO_SEGMENTS = 1800  # an emulator bound (two hours at the minimum interval), not a Google limit


def video_limits(instances: list[Any]) -> Response | None:
    """The 400 for a video segment config the emulator cannot (or Google would not) serve."""
    for instance in instances:
        video = instance.get("video") if isinstance(instance, dict) else None
        config = video.get("videoSegmentConfig") if isinstance(video, dict) else None
        if not isinstance(config, dict):
            continue
        start, end = _integer(config.get("startOffsetSec", 0)), _integer(config.get("endOffsetSec", 0))
        step = _integer(config.get("intervalSec", 16))
        if start is None or end is None or step is None or start < 0:
            return google_error(
                400, "Invalid value for videoSegmentConfig: offsets and interval must be integers."
            )
        if step < MIN_VIDEO_INTERVAL:
            return google_error(
                400, f"Invalid value for intervalSec: {step}. It must be at least {MIN_VIDEO_INTERVAL}."
            )
        if "endOffsetSec" in config and (end - start) // step > MAX_VIDEO_SEGMENTS:
            return google_error(400, "Invalid value for videoSegmentConfig: too many segments requested.")
    return None
