"""A local Vertex AI emulator speaking Google's wire protocol (issue 3).

Independent of the engine: it imports nothing from ``engine`` outside this
package. Serves, under Google's URL shapes, Gemini (generate/stream/count),
Claude (rawPredict/streamRawPredict), OpenAI-format partner and MaaS models,
``:predict`` models (embeddings, Imagen, PaLM), cachedContents/batch/tuning
jobs, Text-to-Speech, a built-in Cloud Storage (storage.py), an OAuth 2.0 token endpoint and a
GCE metadata server. Publisher models outside its catalogue (catalogue.py, models.yaml) answer
Vertex's 404 unless ``accept_any_model`` is set.

Control API (no auth): ``POST /emulator/script`` ``{"model", "responses": [...]}``
where each item is one of ``{"text"}``, ``{"function_calls": [{"name", "args"}]}``,
``{"thought", "thought_signature", "text"}``, ``{"grounding_metadata", "text"}``,
``{"block_reason"}``, ``{"finish_reason"}``, ``{"json"}``, ``{"stream_events"}``,
``{"code_execution": [{"code", "output"?, "outcome"?}], "text"?}``,
and faults ``{"status", "retry_after"?, "message"?}``, ``{"delay_ms"}``,
``{"cut_stream_after": N}``, ``{"malformed_chunk": true}``,
``{"stream_error": {"after": N, "status"?, "message"?}}`` (an error event after N events
of a 200 stream, in the family's error shape) (faults combine with content); ``GET /emulator/requests[?model=]``; ``POST /emulator/reset``;
``POST /emulator/service-accounts``; ``POST /emulator/unknown-models``;
``POST /emulator/accept-models`` ``{"models": [...]}`` (serve names outside the catalogue, models.yaml);
``POST /emulator/advance`` ``{"seconds"}`` (job clock);
``GET /emulator/health``.
"""

from engine.emulator.app import create_app
from engine.emulator.server import Emulator, main
from engine.emulator.state import EmulatorState

__all__ = ["Emulator", "EmulatorState", "create_app", "main"]
