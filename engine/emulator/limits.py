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
