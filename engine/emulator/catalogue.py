"""The emulator's model catalogue, and what the newer models refuse, so it answers as Vertex AI does.

Catalogue: ``models.yaml`` next to this module (the emulator's own data, not the engine's
specs) lists the publisher models Vertex serves, each with its wire format and the methods it
answers. :func:`find` is the one lookup every route uses; an unknown publisher model answers
404 in Vertex's words unless the emulator accepts any model (``--accept-any-model``). The file
is read once, on the first lookup, so ``import engine`` does no I/O.

Claude rules: Vertex's Claude endpoint accepts any body that parses; the model then rejects settings it
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
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

CATALOGUE_FILE = Path(__file__).with_name("models.yaml")


@dataclass(frozen=True)
class Entry:
    """One publisher model: who publishes it, the wire format it speaks and the methods it answers."""

    publisher: str
    model: str
    format: str
    methods: frozenset[str]
    stage: str = "GA"
    retired: bool = False
    open_source: str = "PROPRIETARY"
    schema: str | None = (
        None  # predictSchemata stem (models.yaml predict_schemata), None: no :predict schemata
    )

    @property
    def name(self) -> str:
        """The resource name Vertex gives it, ``publishers/{publisher}/models/{model}``."""
        return f"publishers/{self.publisher}/models/{self.model}"

    def publisher_model(self) -> dict[str, Any]:
        """The ``PublisherModel`` JSON (the fields a GET of the publisher model needs).

        Field names from the v1 discovery document's GoogleCloudAiplatformV1PublisherModel. The
        template is Vertex's (``projects/{user-project}/locations/{location}/publishers/google/models/
        text-bison@001``), which the vertexai SDK formats into the endpoint it then calls;
        ``predictSchemata`` is what its ``*.from_pretrained`` reads to choose a model class.
        """
        base, _, version = self.model.partition("@")
        name = f"publishers/{self.publisher}/models/{base}"  # Vertex names the model, the version apart
        found: dict[str, Any] = {
            "name": name,
            "versionId": version or "default",
            "openSourceCategory": self.open_source,
            "launchStage": self.stage,
            "versionState": "VERSION_STATE_STABLE" if self.stage == "GA" else "VERSION_STATE_UNSTABLE",
            "publisherModelTemplate": f"projects/{{user-project}}/locations/{{location}}/{self.name}",
        }
        if self.schema:
            found["predictSchemata"] = predict_schemata(self.schema)
        return found


SCHEMA_ROOT = "gs://google-cloud-aiplatform/schema/predict"


def predict_schemata(stem: str) -> dict[str, str]:
    """The ``PredictSchemata`` of a schema stem (``text_embedding`` → ``.../instance/text_embedding_1.0.0.yaml``)."""
    return {
        "instanceSchemaUri": f"{SCHEMA_ROOT}/instance/{stem}_1.0.0.yaml",
        "parametersSchemaUri": f"{SCHEMA_ROOT}/params/{stem}_1.0.0.yaml",
        "predictionSchemaUri": f"{SCHEMA_ROOT}/prediction/{stem}_1.0.0.yaml",
    }


@dataclass(frozen=True)
class Catalogue:
    """All entries, keyed by (publisher, model id), and each format's methods."""

    entries: dict[tuple[str, str], Entry]
    formats: dict[str, frozenset[str]]
    by_base: dict[tuple[str, str], Entry]  # a bare id -> its only dated version

    def find(self, publisher: str, model: str) -> Entry | None:
        """The entry for ``model``; a bare id also finds its one dated version (``claude-x`` → ``claude-x@2025...``).

        Why: Vertex resolves a publisher model without ``@version`` to its default version.
        """
        found = self.entries.get((publisher, model))
        return found if found is not None else self.by_base.get((publisher, model))


def _parse(data: dict[str, Any]) -> Catalogue:
    formats = {name: frozenset(methods) for name, methods in data["formats"].items()}
    open_source = data.get("open_source") or {}
    schemata = data.get("predict_schemata") or {}
    entries: dict[tuple[str, str], Entry] = {}
    for publisher, by_format in data["publishers"].items():
        for kind, models in by_format.items():
            for model, facts in (models or {}).items():
                facts = facts or {}
                entries[(publisher, model)] = Entry(
                    publisher,
                    model,
                    kind,
                    formats[kind],
                    stage=facts.get("stage", "GA"),
                    retired=bool(facts.get("retired", False)),
                    open_source=open_source.get(kind, "PROPRIETARY"),
                    schema=facts.get("schema", schemata.get(kind)),
                )
    bare: dict[tuple[str, str], list[Entry]] = {}
    for (publisher, model), entry in entries.items():
        if "@" in model:
            bare.setdefault((publisher, model.partition("@")[0]), []).append(entry)
    return Catalogue(entries, formats, {k: v[0] for k, v in bare.items() if len(v) == 1})


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The catalogue from ``models.yaml``, read and parsed once."""
    return _parse(YAML(typ="safe").load(CATALOGUE_FILE.read_text(encoding="utf-8")))


def find(publisher: str, model: str) -> Entry | None:
    """The catalogue entry of ``publishers/{publisher}/models/{model}``, or None when Vertex has no such model."""
    return catalogue().find(publisher, model)


def entries() -> list[Entry]:
    """Every catalogue entry (for tests and listings)."""
    return list(catalogue().entries.values())


def listed(publisher: str, all_versions: bool = False) -> list[Entry]:
    """The models ``publishers.models.list`` shows for ``publisher``: not retired, in catalogue order.

    One entry per model id unless ``all_versions`` (``text-x@001`` and ``text-x@002`` are one model).
    """
    seen: set[str] = set()
    found = []
    for entry in catalogue().entries.values():
        if entry.publisher != publisher or entry.retired:
            continue
        base = entry.model.partition("@")[0]
        if all_versions or base not in seen:
            seen.add(base)
            found.append(entry)
    return found


# Vertex's answer when a Gemini model is called through :predict / :rawPredict (quoted in
# langchain-ai/langchainjs#3884 and googleapis/google-cloud-ruby#29264).
GEMINI_THROUGH_PREDICT = (
    "Gemini cannot be accessed through Vertex Predict/RawPredict API. Please follow "
    "https://cloud.google.com/vertex-ai/docs/generative-ai/start/quickstarts/quickstart-multimodal for Gemini usage."
)


def method_problem(entry: Entry, method: str) -> str | None:
    """Why ``entry`` does not answer ``method`` (a custom verb), else None; only verbs some format has count.

    The Gemini text is Google's; for other pairs the wording is the emulator's (Google's varies).
    """
    if method in entry.methods or not any(method in m for m in catalogue().formats.values()):
        return None
    if entry.format == "gemini" and method in ("predict", "rawPredict"):
        return GEMINI_THROUGH_PREDICT
    return f"{entry.name} does not support the {method} method."


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
