"""Gemini on Vertex AI: ``:generateContent``, ``:streamGenerateContent``, ``:countTokens``.

Shapes follow Google's API reference (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference)
and the v1 discovery document (GoogleCloudAiplatformV1GenerateContentResponse):
``candidates[].content.parts``, ``finishReason``, ``usageMetadata``
(promptTokenCount, candidatesTokenCount, thoughtsTokenCount, totalTokenCount),
``modelVersion``, ``createTime``, ``responseId``. Streaming chunks repeat the
envelope and carry the finish reason and full usage on the last chunk, as in
Vertex's ``?alt=sse`` output.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from typing import Any

from starlette.responses import Response

from engine.emulator import media
from engine.emulator.catalogue import gemini_problem
from engine.emulator.errors import google_error, not_found
from engine.emulator.limits import out_of_range
from engine.emulator.reply import Reply, limit
from engine.emulator.routing import (
    ENDPOINT,
    EXPRESS_MODEL,
    PUBLISHER_MODEL,
    Call,
    Route,
    endpoint_missing,
    route,
)
from engine.emulator.sample import example
from engine.emulator.streaming import GEMINI_ARRAY, GEMINI_SSE, early, stream
from engine.emulator.text import (
    chunks,
    collect_texts,
    digest,
    echo,
    prompt_tokens,
    signature_for,
)
from engine.emulator.validation import encode, parse, respond

RESPONSE = "GoogleCloudAiplatformV1GenerateContentResponse"
SAFETY_RATINGS = [
    {
        "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
        "probability": "HIGH",
        "probabilityScore": 0.93,
        "severity": "HARM_SEVERITY_HIGH",
        "severityScore": 0.91,
        "blocked": True,
    },
]


def _last_user_text(body: dict[str, Any]) -> str:
    """Text of the last user turn; a function response is described instead."""
    for content in reversed(body.get("contents") or []):
        if content.get("role", "user") == "model":
            continue
        pieces = []
        for part in content.get("parts") or []:
            if "text" in part:
                pieces.append(part["text"])
            elif "functionResponse" in part:
                response = part["functionResponse"]
                pieces.append(
                    f"{response.get('name')} returned {json.dumps(response.get('response'), sort_keys=True)}"
                )
        return " ".join(pieces)
    return ""


def _config(body: dict[str, Any]) -> dict[str, Any]:
    return body.get("generationConfig") or {}


def default_reply(body: dict[str, Any]) -> Reply:
    """Echo of the last user text; JSON of the requested schema in JSON mode; a thought when asked."""
    said = _last_user_text(body)
    config = _config(body)
    text = echo(said)
    if config.get("responseMimeType") == "application/json":
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        text = json.dumps(example(schema, text) if schema else {"echo": text})
    thinking = config.get("thinkingConfig") or {}
    thought = f"Thinking about: {said}" if thinking.get("includeThoughts") else None
    return limit(
        Reply(text=text, thought=thought), config.get("maxOutputTokens"), config.get("stopSequences")
    )


# GenerationConfig.responseFormat[].audio.mimeType (AudioResponseFormat, aiplatform v1) -> the inlineData
# Google returns. Without one: raw 16-bit PCM ("audio/L16;codec=pcm;rate=24000"), as the earlier TTS models
# answer (https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/text-to-speech/migration-guide).
# MP3 and Ogg Opus are stand-ins with the right magic bytes (media.stand_in); WAV, L16, A-law, mu-law are real.
AUDIO_FORMATS = {"AUDIO_MP3": "audio/mpeg", "AUDIO_OGG_OPUS": "audio/ogg", "AUDIO_WAV": "audio/wav"}


# Sample rates the emulator will synthesise (Hz): telephony to studio; outside them a 400, not GBs of PCM.
SAMPLE_RATES = (8000, 48000)


def _audio_format(config: dict[str, Any]) -> dict[str, Any]:
    """The requested ``responseFormat[].audio`` (AudioResponseFormat), {} when none."""
    return next(
        (
            f.get("audio") or {}
            for f in config.get("responseFormat") or []
            if isinstance(f, dict) and "audio" in f
        ),
        {},
    )


def _audio(text: str, config: dict[str, Any]) -> tuple[str, bytes]:
    """The mime type and bytes of the generated speech for ``text``."""
    wanted = _audio_format(config)
    rate = int(wanted.get("sampleRate") or 24000)
    pcm = media.pcm16(text, 0.3, rate)
    kind = wanted.get("mimeType") or "AUDIO_L16"
    if kind == "AUDIO_WAV":
        return "audio/wav", media.wav(pcm, rate)
    if kind == "AUDIO_MULAW":
        return "audio/wav", media.wav_g711(media.mulaw(pcm), rate, 7)
    if kind == "AUDIO_ALAW":
        return "audio/wav", media.wav_g711(media.alaw(pcm), rate, 6)
    if kind in AUDIO_FORMATS:
        return AUDIO_FORMATS[kind], media.stand_in(kind.removeprefix("AUDIO_"), text)
    return f"audio/L16;codec=pcm;rate={rate}", pcm


def _answer_parts(reply: Reply, body: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Parts grouped per stream chunk: thought, text pieces, function calls, media."""
    groups: list[list[dict[str, Any]]] = []
    if reply.thought:
        groups.append([{"text": reply.thought, "thought": True}])
    for run in reply.code_execution:  # the model's code, then what running it printed (one chunk each)
        groups.append([{"executableCode": {"language": "PYTHON", "code": run.get("code", "")}}])
        if "output" in run:
            result = {"outcome": run.get("outcome", "OUTCOME_OK"), "output": run["output"]}
            groups.append([{"codeExecutionResult": result}])
    modalities = _config(body).get("responseModalities") or []
    if reply.text is not None and "AUDIO" in modalities:
        mime, audio = _audio(reply.text, _config(body))
        groups.append([{"inlineData": {"mimeType": mime, "data": base64.b64encode(audio).decode()}}])
    elif reply.text is not None:
        groups.extend([[{"text": piece}] for piece in chunks(reply.text)])
    if reply.function_calls:
        groups.append(
            [{"functionCall": {"name": c["name"], "args": c.get("args", {})}} for c in reply.function_calls]
        )
    if reply.text is not None and "IMAGE" in modalities:
        groups.append(
            [
                {
                    "inlineData": {
                        "mimeType": "image/png",
                        "data": base64.b64encode(media.png(reply.text)).decode(),
                    }
                }
            ]
        )
    signature = reply.thought_signature or (signature_for(reply.thought) if reply.thought else None)
    if signature:
        target = next((g[0] for g in groups if not g[0].get("thought")), groups[0][0] if groups else None)
        if target is not None:
            target["thoughtSignature"] = signature
    return groups


def _logprobs(parts: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any] | None:
    """A ``logprobsResult`` for the answer text of one chunk (deterministic numbers), when asked for."""
    if not config.get("responseLogprobs"):
        return None
    text = "".join(p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought"))
    tokens = re.findall(r"\S+\s*|\s+", text)
    if not tokens:
        return None
    top = int(config.get("logprobs") or 0)
    chosen, steps = [], []
    for position, token in enumerate(tokens):
        logprob = -round(0.05 * (1 + position % 4), 2)
        chosen.append({"token": token, "logProbability": logprob})
        alternatives = [{"token": token, "logProbability": logprob}]
        alternatives += [{"token": f"{token}~{k}", "logProbability": logprob - k} for k in range(1, top)]
        steps.append({"candidates": alternatives[:top]})
    result: dict[str, Any] = {"chosenCandidates": chosen}
    if top:
        result["topCandidates"] = steps
    return result


def _usage(body: dict[str, Any], reply: Reply, cached: int) -> dict[str, Any]:
    prompt = (
        prompt_tokens({"contents": body.get("contents"), "systemInstruction": body.get("systemInstruction")})
        + cached
    )
    output = reply.answer_tokens()
    thoughts = reply.thought_tokens()
    usage: dict[str, Any] = {"promptTokenCount": prompt}
    if not reply.block_reason:
        usage["candidatesTokenCount"] = output
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if cached:
        usage["cachedContentTokenCount"] = cached
    usage["totalTokenCount"] = prompt + (0 if reply.block_reason else output) + thoughts
    usage["trafficType"] = "ON_DEMAND"
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    if not reply.block_reason:
        usage["candidatesTokensDetails"] = [{"modality": "TEXT", "tokenCount": output}]
    return usage


def _envelope(call: Call, response_id: str, created: str) -> dict[str, Any]:
    return {"modelVersion": call.model, "createTime": created, "responseId": response_id}


def _candidate(
    parts: list[dict[str, Any]] | None, reply: Reply, final: bool, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    candidate: dict[str, Any] = {}
    if parts:
        candidate["content"] = {"role": "model", "parts": parts}
        if (logprobs := _logprobs(parts, config or {})) is not None:
            candidate["logprobsResult"] = logprobs
    if final:
        candidate["finishReason"] = reply.finish_reason or "STOP"
        if reply.finish_reason == "SAFETY":
            candidate["safetyRatings"] = SAFETY_RATINGS
        if reply.grounding_metadata is not None:
            candidate["groundingMetadata"] = reply.grounding_metadata
    return candidate


def _events(call: Call, reply: Reply, cached: int) -> list[dict[str, Any]]:
    """The response as a list of chunks (a unary response is their merge)."""
    body = call.body
    envelope = _envelope(call, digest(body, call.state.next_id()), _now())
    usage = _usage(body, reply, cached)
    if reply.block_reason:
        feedback = {"blockReason": reply.block_reason, "safetyRatings": SAFETY_RATINGS}
        return [{"promptFeedback": feedback, "usageMetadata": usage, **envelope}]
    groups = _answer_parts(reply, body) if reply.finish_reason != "SAFETY" or reply.text else []
    if not groups:
        return [{"candidates": [_candidate(None, reply, True)], "usageMetadata": usage, **envelope}]
    events = []
    for index, group in enumerate(groups):
        final = index == len(groups) - 1
        chunk = {
            "candidates": [_candidate(group, reply, final, _config(body))],
            "usageMetadata": usage if final else {"trafficType": "ON_DEMAND"},
            **envelope,
        }
        events.append(chunk)
    return events


def _merge(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Join streamed chunks into one unary response (adjacent text parts concatenated)."""
    merged = dict(events[-1])
    if "candidates" not in merged:
        return merged
    parts: list[dict[str, Any]] = []
    for event in events:
        for part in event["candidates"][0].get("content", {}).get("parts", []):
            same_kind = (
                parts
                and "text" in part
                and "text" in parts[-1]
                and bool(part.get("thought")) == bool(parts[-1].get("thought"))
            )
            if same_kind and "thoughtSignature" not in part:
                parts[-1] = {**parts[-1], "text": parts[-1]["text"] + part["text"]}
            else:
                parts.append(dict(part))
    candidate = dict(merged["candidates"][0])
    if parts:
        candidate["content"] = {"role": "model", "parts": parts}
    steps = [e["candidates"][0].get("logprobsResult") for e in events]
    if any(steps):
        chosen = [c for step in steps if step for c in step.get("chosenCandidates", [])]
        top = [t for step in steps if step for t in step.get("topCandidates", [])]
        candidate["logprobsResult"] = {"chosenCandidates": chosen, **({"topCandidates": top} if top else {})}
        candidate["avgLogprobs"] = sum(c["logProbability"] for c in chosen) / len(chosen)
    merged["candidates"] = [candidate]
    return merged


def _candidates(response: dict[str, Any], count: Any) -> dict[str, Any]:
    """Repeat the single candidate for ``candidateCount`` > 1, indexed as Vertex indexes them."""
    wanted = int(count) if str(count or "").isdigit() else 1
    if wanted <= 1 or "candidates" not in response:
        return response
    usage = dict(response["usageMetadata"])
    extra = usage.get("candidatesTokenCount", 0) * (wanted - 1)
    usage["candidatesTokenCount"] = usage.get("candidatesTokenCount", 0) + extra
    usage["totalTokenCount"] += extra
    candidates = [{**response["candidates"][0], "index": i} for i in range(wanted)]
    return {**response, "candidates": candidates, "usageMetadata": usage}


def _now() -> str:
    return (
        datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
    )


def _cached_tokens(call: Call) -> int | Response:
    name = call.body.get("cachedContent")
    if not name:
        return 0
    found = call.state.collection("cachedContents").get(name)
    if found is None:
        return not_found(f"Not found: cached content metadata for {name.rsplit('/', 1)[-1]}.")
    return int(found.get("usageMetadata", {}).get("totalTokenCount", 0))


async def _generate(call: Call, streaming: bool) -> Response:
    problem = parse(call, "GoogleCloudAiplatformV1GenerateContentRequest")
    if problem:
        return problem
    if (refused := gemini_problem(call.params.get("model"), call.body)) is not None:
        return google_error(400, refused)
    if not call.body.get("contents"):
        return google_error(
            400,
            "Unable to submit request because it must include at least one parts field, "
            "which describes the prompt input. Learn more: "
            "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini",
        )
    # candidateCount: 1 to 8 (GenerationConfig reference); a larger count must be a 400, not a huge reply.
    refused = out_of_range("candidateCount", _config(call.body).get("candidateCount"), 1, 8)
    if refused is None:
        rate = _audio_format(_config(call.body)).get("sampleRate") or None  # 0 is proto3 for unset
        refused = out_of_range("sampleRate", rate, *SAMPLE_RATES)
    if refused is not None:
        return refused
    cached = _cached_tokens(call)
    if isinstance(cached, Response):
        return cached
    reply = call.reply(default_reply(call.body))
    done = await early(reply, streaming)
    if done is not None:
        return done
    events = _events(call, reply, cached)
    if not streaming:
        merged = _candidates(_merge(events), _config(call.body).get("candidateCount"))
        return respond(call, merged, RESPONSE)
    events = [encode(call, event, RESPONSE) for event in events]
    framing = GEMINI_SSE if call.query.get("alt") == "sse" else GEMINI_ARRAY
    return stream(events, framing, reply)


async def generate_content(call: Call) -> Response:
    """``:generateContent``."""
    return await _generate(call, streaming=False)


async def stream_generate_content(call: Call) -> Response:
    """``:streamGenerateContent`` (``?alt=sse`` for SSE, else a streamed JSON array)."""
    return await _generate(call, streaming=True)


async def count_tokens_handler(call: Call) -> Response:
    """``:countTokens``: totalTokens and billable characters of the prompt."""
    problem = parse(call, "GoogleCloudAiplatformV1CountTokensRequest")
    if problem:
        return problem
    done = await early(call.reply(Reply()))
    if done is not None:
        return done
    prompt = {"contents": call.body.get("contents"), "systemInstruction": call.body.get("systemInstruction")}
    tokens = prompt_tokens(prompt)
    characters = sum(len("".join(t.split())) for t in collect_texts(prompt))
    counted = {
        "totalTokens": tokens,
        "totalBillableCharacters": characters,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}],
    }
    return respond(call, counted, "GoogleCloudAiplatformV1CountTokensResponse")


ROUTES: list[Route] = [
    route("POST", PUBLISHER_MODEL + ":generateContent", generate_content),
    route("POST", PUBLISHER_MODEL + ":streamGenerateContent", stream_generate_content),
    route("POST", PUBLISHER_MODEL + ":countTokens", count_tokens_handler),
    route("POST", EXPRESS_MODEL + ":generateContent", generate_content),
    route("POST", EXPRESS_MODEL + ":streamGenerateContent", stream_generate_content),
    route("POST", EXPRESS_MODEL + ":countTokens", count_tokens_handler),
    route("POST", ENDPOINT + ":generateContent", generate_content, missing=endpoint_missing),
    route("POST", ENDPOINT + ":streamGenerateContent", stream_generate_content, missing=endpoint_missing),
    route("POST", ENDPOINT + ":countTokens", count_tokens_handler, missing=endpoint_missing),
]
