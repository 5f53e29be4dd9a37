"""Gemini ``logprobsResult`` → OpenAI ``choices[].logprobs``.

Why code: Gemini returns two parallel lists per candidate (``chosenCandidates`` and
``topCandidates[i].candidates``, one entry per decoding step; aiplatform v1
``GoogleCloudAiplatformV1LogprobsResult``) while OpenAI nests the alternatives under each
chosen token and adds its UTF-8 ``bytes``. Zipping by position is not a field mapping.
"""

from __future__ import annotations

from typing import Any

from engine.transforms import register


def _entry(candidate: dict[str, Any]) -> dict[str, Any]:
    token = candidate.get("token") if isinstance(candidate.get("token"), str) else ""
    logprob = candidate.get("logProbability")
    return {
        "token": token,
        "logprob": float(logprob) if isinstance(logprob, (int, float)) else 0.0,
        "bytes": list(token.encode("utf-8")),
    }


@register("gemini_logprobs", kind="extractor", keeps_null=True)
def gemini_logprobs(result: Any) -> dict[str, Any] | None:
    """Extractor transform over ``logprobsResult``: ``{"content": [{token, logprob, bytes, top_logprobs}]}``."""
    if not isinstance(result, dict):
        return None
    chosen = [c for c in result.get("chosenCandidates") or [] if isinstance(c, dict)]
    if not chosen:
        return None
    top = result.get("topCandidates") or []
    content = []
    for step, candidate in enumerate(chosen):
        entry = _entry(candidate)
        alternatives = (
            top[step].get("candidates") if step < len(top) and isinstance(top[step], dict) else None
        )
        entry["top_logprobs"] = [_entry(a) for a in alternatives or [] if isinstance(a, dict)]
        content.append(entry)
    return {"content": content, "refusal": None}
