"""URL and body helpers shared by the emulator tests."""

from __future__ import annotations

LOCATION = "us-central1"
PROJECT = "test-project"


def model_path(model: str, verb: str, publisher: str = "google", location: str = LOCATION) -> str:
    """Google's publisher-model URL path."""
    return f"/v1/projects/{PROJECT}/locations/{location}/publishers/{publisher}/models/{model}:{verb}"


def parent_path(location: str = LOCATION) -> str:
    """``/v1/projects/{p}/locations/{l}``."""
    return f"/v1/projects/{PROJECT}/locations/{location}"


def user(text: str) -> dict[str, object]:
    """A minimal GenerateContentRequest body (shape from Google's inference reference)."""
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def sse_data(text: str, separator: str = "\n\n") -> list[str]:
    """The ``data:`` payloads of a Server-Sent Events body, in order."""
    payloads = []
    for frame in text.split(separator):
        lines = [line for line in frame.splitlines() if line.startswith("data: ")]
        payloads.extend(line[len("data: ") :] for line in lines)
    return payloads


def sse_types(text: str) -> list[str]:
    """The ``event:`` names of an Anthropic-style SSE body, in order."""
    return [line[len("event: ") :] for line in text.splitlines() if line.startswith("event: ")]
