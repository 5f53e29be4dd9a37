"""Which OpenAI endpoint calls which engine function: the proxy's whole routing table, as data.

Why a table: every POST endpoint is handled by the same code (authenticate, parse,
route to a deployment, call the engine, write the reply); only the engine
operation, the public function and the reply kind differ.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    """One OpenAI POST endpoint."""

    operation: str  # engine operation (registry key): chat, embedding, ...
    function: str  # public async function of the ``engine`` package
    streams: bool = False  # accepts ``stream: true``
    binary: bool = False  # the reply is bytes (audio), not JSON


CHAT = Endpoint("chat", "acompletion", streams=True)
TEXT = Endpoint("text_completion", "atext_completion", streams=True)
EMBEDDING = Endpoint("embedding", "aembedding")
IMAGE = Endpoint("image_generation", "aimage_generation")
SPEECH = Endpoint("speech", "aspeech", binary=True)

# OpenAI's paths, each also served without the ``/v1`` prefix (as LiteLLM's proxy does).
ENDPOINTS: dict[str, Endpoint] = {
    "/chat/completions": CHAT,
    "/completions": TEXT,
    "/embeddings": EMBEDDING,
    "/images/generations": IMAGE,
    "/audio/speech": SPEECH,
}

OPERATIONS: tuple[str, ...] = tuple(dict.fromkeys(e.operation for e in ENDPOINTS.values()))

# Engine options a client of the proxy may not set: they would redirect the upstream call or
# its credentials. Only the config decides them.
CLIENT_FORBIDDEN = frozenset(
    {
        "api_base",
        "base_url",
        "api_key",
        "vertex_credentials",
        "vertex_project",
        "vertex_location",
        "vertex_ai_project",
        "vertex_ai_location",
        "extra_headers",
        "custom_llm_provider",
        "num_retries",
        "max_retries",
        "timeout",
        "request_timeout",
    }
)

# OpenAI / LiteLLM bookkeeping fields the proxy accepts and does not forward upstream.
CLIENT_IGNORED = frozenset({"user", "metadata"})
