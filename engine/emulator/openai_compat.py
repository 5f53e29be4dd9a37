"""OpenAI-format families on Vertex AI: MaaS (Llama, ...), Model Garden endpoints,
Mistral / Codestral (incl. FIM) and AI21 Jamba via ``rawPredict``.

Shapes: OpenAI chat completions and chunks with ``data: [DONE]``
(https://platform.openai.com/docs/api-reference/chat/object and /chat/streaming),
Vertex's OpenAI-compatible endpoint
(https://cloud.google.com/vertex-ai/generative-ai/docs/maas/llama/use-llama),
Mistral's FIM response, which is a chat-completion object
(https://docs.mistral.ai/api/#tag/fim), OpenAI embeddings
(https://platform.openai.com/docs/api-reference/embeddings/object).

Streams: OpenAI-style servers send a usage-only chunk only when asked (``stream_options``);
Mistral and AI21 always put ``usage`` on the last chunk, next to its ``finish_reason``, and
take no ``stream_options`` (Mistral's GCP client's CompletionChunk example, mistralai/client-ts
packages/mistralai-gcp/docs/models/components/completionchunk.md; AI21's chat response reference,
https://docs.ai21.com/reference/jamba-api-response: "usage will be null except for the last chunk").
"""

from __future__ import annotations

import base64
import json
import struct
import time
from typing import Any

from starlette.responses import JSONResponse, Response

from engine.emulator.errors import google_error
from engine.emulator.limits import ENDPOINT_MAX_DIMENSIONS, out_of_range
from engine.emulator.reply import Reply, limit
from engine.emulator.routing import ENDPOINT, PREFIX, Call, Route, endpoint_missing, route
from engine.emulator.sample import example
from engine.emulator.streaming import OPENAI_SSE, early, stream
from engine.emulator.text import chunks, count_tokens, digest, echo, prompt_tokens
from engine.emulator.vectors import embed

OPENAPI = PREFIX + r"endpoints/openapi"
PARTNER = PREFIX + r"publishers/(?P<publisher>(?!anthropic/|google/)[^/]+)/models/(?P<model>[^/:]+)"
# Publishers whose streams always carry usage on the final chunk (see the module docstring).
USAGE_ON_LAST_CHUNK = frozenset({"mistralai", "ai21"})


def body_model(params: dict[str, str], body: Any) -> str | None:
    """Script key of the MaaS endpoint: the ``model`` named in the body (a string), else None."""
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


def _model_problem(call: Call) -> Response | None:
    """The 400 for an ``endpoints/openapi`` call whose ``model`` is not a ``"<publisher>/<model>"`` string."""
    if "/endpoints/openapi/" not in call.request.url.path or not isinstance(call.body, dict):
        return None
    model = call.body.get("model")
    if body_publisher_model(call.params, call.body) is not None:
        return None
    shown = json.dumps(model)[:80]
    return google_error(400, f'Invalid value for model: {shown}. It must be "<publisher>/<model>".')


def _messages_problem(body: dict[str, Any]) -> Response | None:
    """The 400 for ``messages`` that are not a list of message objects with text or content-part content."""
    messages = body.get("messages")
    if messages is None:
        return None
    if not isinstance(messages, list):
        return google_error(400, "Invalid request: 'messages' must be an array of message objects.")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            return google_error(400, f"Invalid request: 'messages[{index}]' must be an object.")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            return google_error(
                400, f"Invalid request: 'messages[{index}].content' must be a string or an array."
            )
    return None


def body_publisher_model(params: dict[str, str], body: Any) -> tuple[str, str] | None:
    """(publisher, model) of a MaaS call, from ``"model": "<publisher>/<id>"``; checked against the catalogue."""
    publisher, _, name = (body_model(params, body) or "").partition("/")
    return (publisher, name) if publisher and name else None  # else the handler's 400 (_model_problem)


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def _last_user_text(body: dict[str, Any]) -> str:
    if "prompt" in body and "messages" not in body:
        return str(body["prompt"])
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "tool":
            return f"{message.get('tool_call_id')} returned {_message_text(message)}"
        if message.get("role") == "user":
            return _message_text(message)
    return ""


def default_reply(body: dict[str, Any]) -> Reply:
    """Echo of the last user text; JSON of the requested shape under ``response_format``."""
    text = echo(_last_user_text(body))
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        text = json.dumps(example(schema, text))
    elif response_format.get("type") == "json_object":
        text = json.dumps({"echo": text})
    most = body.get("max_completion_tokens", body.get("max_tokens"))
    return limit(Reply(text=text), most, body.get("stop"))


def _finish(reply: Reply) -> str:
    if reply.safety_stop:
        return "content_filter"
    if reply.finish_reason == "MAX_TOKENS":
        return "length"
    return "tool_calls" if reply.function_calls else "stop"


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": c.get("id") or f"call_{digest(c, i, length=24)}",
            "type": "function",
            "function": {"name": c["name"], "arguments": json.dumps(c.get("args", {}))},
        }
        for i, c in enumerate(reply.function_calls)
    ]


def completion(call: Call, reply: Reply) -> dict[str, Any]:
    """The unary chat-completion object."""
    message: dict[str, Any] = {"role": "assistant", "content": None if reply.safety_stop else reply.text}
    if reply.thought:
        message["reasoning_content"] = reply.thought
    if reply.function_calls:
        message["tool_calls"] = _tool_calls(reply)
    prompt = prompt_tokens(
        {
            "messages": call.body.get("messages"),
            "prompt": call.body.get("prompt"),
            "suffix": call.body.get("suffix"),
        }
    )
    output = reply.answer_tokens() + reply.thought_tokens()
    return {
        "id": f"chatcmpl-{digest(call.body, call.state.next_id(), length=24)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.body.get("model") or call.model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(reply), "logprobs": None}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output},
    }


def chunk_events(
    full: dict[str, Any], include_usage: bool, usage_on_last: bool = False
) -> list[dict[str, Any]]:
    """``chat.completion.chunk`` events for a complete completion.

    ``include_usage`` adds OpenAI's usage-only chunk (empty ``choices``); ``usage_on_last``
    puts ``usage`` on the finishing chunk instead, as Mistral and AI21 do.
    """
    head = {
        "id": full["id"],
        "object": "chat.completion.chunk",
        "created": full["created"],
        "model": full["model"],
    }
    message = full["choices"][0]["message"]

    def event(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    events = [event({"role": "assistant", "content": ""})]
    events += (
        [event({"reasoning_content": p}) for p in chunks(message["reasoning_content"])]
        if message.get("reasoning_content")
        else []
    )
    events += [event({"content": p}) for p in chunks(message["content"])] if message.get("content") else []
    for index, tool in enumerate(message.get("tool_calls", [])):
        events.append(
            event(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": tool["id"],
                            "type": "function",
                            "function": {"name": tool["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        events.append(
            event(
                {"tool_calls": [{"index": index, "function": {"arguments": tool["function"]["arguments"]}}]}
            )
        )
    events.append(event({}, full["choices"][0]["finish_reason"]))
    if usage_on_last:
        events[-1]["usage"] = full["usage"]
    elif include_usage:
        events.append({**head, "choices": [], "usage": full["usage"]})
    return events


async def chat(call: Call, force_stream: bool = False) -> Response:
    """Chat completions (and Mistral FIM, whose body has ``prompt`` instead of ``messages``)."""
    refused = _model_problem(call)
    if refused is not None:
        return refused
    if not isinstance(call.body, dict) or not (call.body.get("messages") or "prompt" in call.body):
        return google_error(400, "Invalid request: 'messages' is a required property.")
    refused = _messages_problem(call.body)
    if refused is not None:
        return refused
    reply = call.reply(default_reply(call.body))
    streaming = force_stream or bool(call.body.get("stream"))
    done = await early(reply, streaming)
    if done is not None:
        return done
    full = completion(call, reply)
    if not streaming:
        return JSONResponse(full)
    include_usage = bool((call.body.get("stream_options") or {}).get("include_usage"))
    usage_on_last = call.params.get("publisher") in USAGE_ON_LAST_CHUNK
    return stream(chunk_events(full, include_usage, usage_on_last), OPENAI_SSE, reply)


async def chat_completions(call: Call) -> Response:
    """``.../chat/completions`` and ``:rawPredict`` for OpenAI-like partner models."""
    return await chat(call)


async def stream_raw_predict(call: Call) -> Response:
    """``:streamRawPredict`` for partner models: always streamed."""
    return await chat(call, force_stream=True)


async def embeddings(call: Call) -> Response:
    """OpenAI ``/embeddings`` on an endpoint: deterministic vectors per input."""
    refused = _model_problem(call)
    if refused is not None:
        return refused
    if not isinstance(call.body, dict) or "input" not in call.body:
        return google_error(400, "Invalid request: 'input' is a required property.")
    done = await early(call.reply(Reply()))
    if done is not None:
        return done
    refused = out_of_range("dimensions", call.body.get("dimensions"), 1, ENDPOINT_MAX_DIMENSIONS)
    if refused is not None:
        return refused
    inputs = call.body["input"] if isinstance(call.body["input"], list) else [call.body["input"]]
    size = int(call.body.get("dimensions") or 768)
    data = []
    for index, text in enumerate(inputs):
        vector: Any = embed(str(text), size)
        if call.body.get("encoding_format") == "base64":
            vector = base64.b64encode(struct.pack(f"<{size}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": vector})
    tokens = sum(count_tokens(str(t)) for t in inputs)
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "model": call.body.get("model") or call.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


ROUTES: list[Route] = [
    route(
        "POST",
        OPENAPI + "/chat/completions",
        chat_completions,
        model=body_model,
        catalogued=body_publisher_model,
    ),
    route("POST", OPENAPI + "/embeddings", embeddings, model=body_model),
    route("POST", ENDPOINT + "/chat/completions", chat_completions, missing=endpoint_missing),
    route("POST", ENDPOINT + "/embeddings", embeddings, missing=endpoint_missing),
    route("POST", PARTNER + ":rawPredict", chat_completions),
    route("POST", PARTNER + ":streamRawPredict", stream_raw_predict),
]
