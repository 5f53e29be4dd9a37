"""Other APIs' request and reply formats, translated to and from the engine's OpenAI chat pipeline.

Agents and SDKs speak more than chat completions: Anthropic's Messages API
(``/v1/messages``) and OpenAI's Responses API (``/v1/responses``). Each dialect has a
translator module (pure functions between its format and OpenAI chat: no I/O) and a
module with the public calls, which run the same pipeline as ``engine.completion``.
Which model takes a request natively is spec data (an operation the family declares,
e.g. ``anthropic_messages`` for Claude on Vertex), never a model name in code.
"""

# Public calls of the dialects, by module: ``engine.<name>`` loads them on first use.
_CALLS = {
    "engine.dialects.anthropic_api": (
        "anthropic_messages",
        "aanthropic_messages",
        "anthropic_count_tokens",
        "aanthropic_count_tokens",
    ),
    "engine.dialects.responses_api": (
        "responses",
        "aresponses",
        "get_responses",
        "aget_responses",
        "delete_responses",
        "adelete_responses",
        "cancel_responses",
        "acancel_responses",
    ),
}
PUBLIC = {name: module for module, names in _CALLS.items() for name in names}
