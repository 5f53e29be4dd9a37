"""Other APIs' request and reply formats, translated to and from the engine's OpenAI chat pipeline.

Agents and SDKs speak more than chat completions: Anthropic's Messages API
(``/v1/messages``) and OpenAI's Responses API (``/v1/responses``). Each dialect has a
translator module (pure functions between its format and OpenAI chat: no I/O) and a
module with the public calls, which run the same pipeline as ``engine.completion``.
Which model takes a request natively is spec data (an operation the family declares,
e.g. ``anthropic_messages`` for Claude on Vertex), never a model name in code.
"""
