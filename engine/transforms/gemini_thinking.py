"""Thinking: ``thinking`` → ``thinkingConfig``, a consistency check, and ``thinking_blocks`` in replies.

The ``reasoning_effort`` table is spec data (``map_by: thinking``); what needs code is
(1) Anthropic-style ``thinking={"type": "enabled", "budget_tokens": N}`` (0: off), (2) one
check of the finished ``thinkingConfig`` against the model's capabilities, which also moves a
``reasoning_effort`` value to the nearest one the model accepts
(``thinking`` style, ``thinking_budget_min``/``max``, ``thinking_can_disable``,
``thinking_levels``) so contradictions are clear errors before Vertex's 400,
and (3) ``thinking_blocks`` with their ``thoughtSignature`` from a reply's parts.
"""

from __future__ import annotations

from typing import Any

from engine.errors import BadRequestError, UnsupportedParamsError
from engine.transforms import register


def _bad(message: str, ctx: Any, param: str = "thinking") -> BadRequestError:
    return BadRequestError(message, model=ctx.model, param=param)


@register("gemini_thinking", kind="param")
def gemini_thinking(value: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """``{"type": "enabled", "budget_tokens": N}`` → budget N with thoughts; ``{"type": "disabled"}`` → budget 0."""
    if ctx.capabilities.get("thinking", "none") == "none":
        raise UnsupportedParamsError(
            f"{ctx.model} has no thinking mode; remove 'thinking'", model=ctx.model, param="thinking"
        )
    kind = value.get("type")
    if kind == "disabled":
        return {"thinkingBudget": 0}
    if kind != "enabled":
        raise _bad(f"thinking.type must be 'enabled' or 'disabled', got {kind!r}", ctx)
    budget = value.get("budget_tokens")
    if budget is None:
        return {"includeThoughts": True}
    if not isinstance(budget, int) or isinstance(budget, bool):
        raise _bad(f"thinking.budget_tokens must be an integer, got {budget!r}", ctx)
    if budget == 0:  # Anthropic-style "enabled with no budget": thinking off, where the model allows it
        return {"thinkingBudget": 0}
    return {"thinkingBudget": budget, "includeThoughts": True}


LEVEL_ORDER = ("MINIMAL", "LOW", "MEDIUM", "HIGH")


def nearest_level(level: str, levels: list[str]) -> str | None:
    """The model's level closest to ``level`` in Google's order (a tie goes to the higher one)."""
    if level not in LEVEL_ORDER:
        return None
    known = [item for item in levels if item in LEVEL_ORDER]
    if not known:
        return None
    rank = LEVEL_ORDER.index(level)
    return min(known, key=lambda item: (abs(LEVEL_ORDER.index(item) - rank), -LEVEL_ORDER.index(item)))


def _snap_effort(config: dict[str, Any], caps: dict[str, Any]) -> dict[str, Any]:
    """``reasoning_effort`` tables are per style, not per model: fit their value to this model's range."""
    budget, level = config.get("thinkingBudget"), config.get("thinkingLevel")
    if budget == 0 and not caps.get("thinking_can_disable", False) and caps.get("thinking_budget_min"):
        return {
            "thinkingBudget": caps["thinking_budget_min"]
        }  # cannot be off: the smallest budget, no thoughts
    levels = caps.get("thinking_levels") or []
    if isinstance(level, str) and level not in levels and (near := nearest_level(level, levels)):
        return {**config, "thinkingLevel": near}
    return config


@register("gemini_check_thinking", kind="request_finalize")
def gemini_check_thinking(body: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Request finalize: the merged ``thinkingConfig`` must fit the model (bounds, levels, no contradictions)."""
    config = body.get("generationConfig", {}).get("thinkingConfig")
    if not config:
        return body
    caps = ctx.capabilities
    style = caps.get("thinking", "none")
    if ctx.params.get("reasoning_effort") is not None and ctx.params.get("thinking") is None:
        config = _snap_effort(config, caps)
        body["generationConfig"] = {**body["generationConfig"], "thinkingConfig": config}
    budget, level = config.get("thinkingBudget"), config.get("thinkingLevel")
    if budget is not None and level is not None:
        raise _bad("a thinking level and a thinking budget contradict each other; pass one of them", ctx)
    if budget == 0 and config.get("includeThoughts"):
        raise _bad("thoughts cannot be included with a thinking budget of 0 (thinking disabled)", ctx)
    if level is not None:
        levels = caps.get("thinking_levels") or []
        if style != "level":
            raise _bad(
                f"{ctx.model} sets thinking by budget, not by level; use thinking.budget_tokens",
                ctx,
                "reasoning_effort",
            )
        if level not in levels:
            raise _bad(
                f"{ctx.model} supports thinking levels {', '.join(levels)}, not {level}",
                ctx,
                "reasoning_effort",
            )
    if isinstance(budget, int) and budget not in (-1,):  # -1: Gemini's dynamic budget
        _check_budget(budget, caps, ctx)
    return body


def _check_budget(budget: int, caps: dict[str, Any], ctx: Any) -> None:
    if budget == 0:
        if not caps.get("thinking_can_disable", False):
            raise _bad(
                f"{ctx.model} cannot turn thinking off (its smallest budget is {caps.get('thinking_budget_min')})",
                ctx,
            )
        return
    low, high = caps.get("thinking_budget_min"), caps.get("thinking_budget_max")
    if (low is not None and budget < low) or (high is not None and budget > high):
        raise _bad(f"thinking budget {budget} is outside [{low}, {high}] for {ctx.model}", ctx)


@register("gemini_thinking_blocks", kind="extractor", keeps_null=True)
def gemini_thinking_blocks(parts: Any) -> list[dict[str, Any]] | None:
    """Extractor transform: thought parts → ``[{"type": "thinking", "thinking", "signature"?}]``.

    Gemini puts the signature on the thought part or on the first answer part after
    it; a signature without thought text (thoughts not requested) still gets a block,
    so it can travel back on the next turn. Function-call signatures stay on the calls.
    """
    if not isinstance(parts, list):
        return None
    for part in parts:  # most stream events have neither: answer without thoughts nor signatures
        if isinstance(part, dict) and (part.get("thought") or part.get("thoughtSignature")):
            break
    else:
        return None
    blocks = [
        {"type": "thinking", "thinking": p.get("text") or ""}
        for p in parts
        if isinstance(p, dict) and p.get("thought")
    ]
    own = [p.get("thoughtSignature") for p in parts if isinstance(p, dict) and p.get("thought")]
    answer = next(
        (
            p["thoughtSignature"]
            for p in parts
            if isinstance(p, dict)
            and not p.get("thought")
            and "functionCall" not in p
            and p.get("thoughtSignature")
        ),
        None,
    )
    for block, signature in zip(blocks, own, strict=True):
        if signature:
            block["signature"] = signature
    if answer and not any(own):
        if not blocks:
            blocks.append({"type": "thinking", "thinking": ""})
        blocks[-1]["signature"] = answer
    return blocks or None
