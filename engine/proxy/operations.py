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
TOKEN_COUNT = Endpoint("count_tokens", "acount_tokens")  # LiteLLM proxy's /utils/token_counter

# OpenAI's paths, each also served without the ``/v1`` prefix (as LiteLLM's proxy does).
ENDPOINTS: dict[str, Endpoint] = {
    "/chat/completions": CHAT,
    "/completions": TEXT,
    "/embeddings": EMBEDDING,
    "/images/generations": IMAGE,
    "/audio/speech": SPEECH,
    "/utils/token_counter": TOKEN_COUNT,
}

OPERATIONS: tuple[str, ...] = tuple(dict.fromkeys(e.operation for e in ENDPOINTS.values()))


@dataclass(frozen=True)
class Resource:
    """One OpenAI files / batches / fine-tuning endpoint: no model group, credentials from a settings section."""

    method: str
    path: str  # OpenAI's path; ids are path parameters named as the engine function's arguments
    function: str  # public async function of the ``engine`` package
    settings: str  # config section with the provider's entry: files_settings | finetune_settings
    target: str  # the service the call reaches: "storage" (Cloud Storage) or "vertex" (Vertex AI)
    form: bool = False  # multipart/form-data upload
    binary: bool = False  # the reply is bytes (a file's content), not JSON
    unused_settings: tuple[str, ...] = ()  # settings the call does not take (the id already names them)


# The seed's flows ("Batch-APIs", "Fine-Tuning-APIs"), as OpenAI's client calls them. A row whose engine
# function does not exist is not served.
RESOURCES: tuple[Resource, ...] = (
    Resource("POST", "/files", "acreate_file", "files_settings", "storage", form=True),
    Resource(  # before /files/{file_id:path}, which would also match it
        "GET",
        "/files/{file_id:path}/content",
        "afile_content",
        "files_settings",
        "storage",
        binary=True,
        unused_settings=("gcs_bucket_name", "gcs_folder"),
    ),
    Resource(
        "GET",
        "/files/{file_id:path}",
        "aretrieve_file",
        "files_settings",
        "storage",
        unused_settings=("gcs_bucket_name", "gcs_folder"),  # a gs:// file id names its bucket
    ),
    Resource("POST", "/batches", "acreate_batch", "files_settings", "vertex"),
    Resource("GET", "/batches", "alist_batches", "files_settings", "vertex"),
    Resource("GET", "/batches/{batch_id}", "aretrieve_batch", "files_settings", "vertex"),
    Resource("POST", "/batches/{batch_id}/cancel", "acancel_batch", "files_settings", "vertex"),
    Resource("POST", "/fine_tuning/jobs", "acreate_fine_tuning_job", "finetune_settings", "vertex"),
    Resource("GET", "/fine_tuning/jobs", "alist_fine_tuning_jobs", "finetune_settings", "vertex"),
    Resource(
        "GET",
        "/fine_tuning/jobs/{fine_tuning_job_id}",
        "aretrieve_fine_tuning_job",
        "finetune_settings",
        "vertex",
    ),
    Resource(
        "POST",
        "/fine_tuning/jobs/{fine_tuning_job_id}/cancel",
        "acancel_fine_tuning_job",
        "finetune_settings",
        "vertex",
    ),
)
# OpenAI's integer query parameters on these endpoints (query strings arrive as text).
INTEGER_QUERY = frozenset({"limit"})

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
