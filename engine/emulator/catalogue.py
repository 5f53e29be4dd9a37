"""What the newer Claude models on Vertex AI refuse, so the emulator answers them like Anthropic does.

Vertex's Claude endpoint accepts any body that parses; the model then rejects settings it
does not support with a 400 ``invalid_request_error``. The rules below are Anthropic's, per
model (https://platform.claude.com/docs/en/build-with-claude/thinking, .../effort, and the
migration guides, e.g. https://platform.claude.com/docs/en/models/opus-5-5/migration-guide):
thinking types a model rejects, whether it takes temperature / top_p / top_k, and whether it
takes a forced tool_choice (``any`` / ``tool``). Models not listed accept everything, as the
emulator always did. The quoted error texts are the ones Anthropic's API returns
("`temperature` is deprecated for this model.", "\"thinking.type.disabled\" is not supported
for this model. ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ClaudeRules:
    """One model line: the thinking types it refuses and what else it rejects."""

    pattern: re.Pattern[str]
    refused_thinking: frozenset[str]
    sampling: bool = False
    forced_tool_choice: bool = True


def _rules(regex: str, refused: set[str], **kwargs: Any) -> ClaudeRules:
    return ClaudeRules(re.compile(regex + r"\Z"), frozenset(refused), **kwargs)


CLAUDE = (
    _rules(r"claude-(opus-5-5|fable-5-1|mythos-5-1)", {"enabled", "disabled"}, forced_tool_choice=False),
    _rules(r"claude-sonnet-5-5", {"enabled", "disabled"}, forced_tool_choice=False),
    _rules(r"claude-(fable-5|mythos-5|mythos-preview)", {"enabled", "disabled"}),
    _rules(r"claude-(opus-5|sonnet-5|opus-4-8|opus-4-7)", {"enabled"}),
    _rules(r"claude-haiku-5-5", set()),
)
SAMPLING = ("temperature", "top_p", "top_k")


def claude_problem(model: str | None, body: dict[str, Any]) -> str | None:
    """Anthropic's message for a setting ``model`` rejects, else None."""
    rules = next((r for r in CLAUDE if model and r.pattern.match(model)), None)
    if rules is None:
        return None
    kind = (body.get("thinking") or {}).get("type")
    if kind in rules.refused_thinking:
        return (
            f'"thinking.type.{kind}" is not supported for this model. Use "thinking.type.adaptive" and '
            '"output_config.effort" to control thinking behavior.'
        )
    if not rules.sampling:
        for name in SAMPLING:
            if name in body:
                return f"`{name}` is deprecated for this model."
    if not rules.forced_tool_choice and (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        return "Forced tool use (tool_choice.type 'any' or 'tool') is not supported for this model."
    return None


# Gemini: penalties exist only up to Gemini 2.0 ("Penalty is not enabled for this model" on 2.5 and later,
# https://github.com/PublicAffairs/openai-gemini/issues/63, https://github.com/BerriAI/litellm/pull/16907);
# thinkingLevel is Gemini 3's, thinkingBudget Gemini 2.5's (https://cloud.google.com/vertex-ai/generative-ai/docs/thinking).
GEMINI_PENALTIES = re.compile(r"gemini-(1\.0|1\.5|2\.0)-.*|gemini-pro.*")
GEMINI_BUDGET = re.compile(r"gemini-2\.5-.*")


def gemini_problem(model: str | None, body: dict[str, Any]) -> str | None:
    """Vertex's message for a generationConfig field ``model`` rejects, else None (unknown models pass)."""
    if not model or not model.startswith("gemini-"):
        return None
    config = body.get("generationConfig") or {}
    if ("presencePenalty" in config or "frequencyPenalty" in config) and not GEMINI_PENALTIES.fullmatch(
        model
    ):
        return "Penalty is not enabled for this model"
    thinking = config.get("thinkingConfig") or {}
    if "thinkingLevel" in thinking and GEMINI_BUDGET.fullmatch(model):
        return "Thinking level is not supported for this model."
    return None
