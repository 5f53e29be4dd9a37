"""OpenAI ``tools``/``tool_choice`` → Gemini ``tools``/``toolConfig``, and tool-call ids that carry signatures.

Why transforms: OpenAI lists every tool flat, Gemini groups function declarations
in one ``Tool`` and gives each built-in tool (Google Search, code execution...) a
``Tool`` of its own; users also type the built-ins in snake_case. Vertex refuses
some combinations itself ("Multiple tools are supported only when they are all
search tools", googleapis/js-genai#435), so that is checked here, against the
model's ``mixed_tools`` capability, before a request is sent.

Thought signatures (Gemini 3 multi-turn tool use) must come back with the call
they belong to. Clients that drop unknown fields (the openai SDK, proxies) keep
the tool-call id, so the signature also rides in the id:
``call_<x>__thought__<signature>`` (the convention LiteLLM uses).
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from engine.errors import BadRequestError
from engine.transforms import register
from engine.transforms.gemini_schema import VertexSchemaError, to_vertex_schema

log = logging.getLogger("vertexlate")

SIGNATURE_MARK = "__thought__"

# Built-in tools by every spelling users type → the Vertex ``Tool`` field (aiplatform v1 discovery).
BUILTIN_TOOLS = {
    "googleSearch": "googleSearch",
    "google_search": "googleSearch",
    "googleSearchRetrieval": "googleSearchRetrieval",
    "google_search_retrieval": "googleSearchRetrieval",
    "enterpriseWebSearch": "enterpriseWebSearch",
    "enterprise_web_search": "enterpriseWebSearch",
    "codeExecution": "codeExecution",
    "code_execution": "codeExecution",
    "urlContext": "urlContext",
    "url_context": "urlContext",
    "googleMaps": "googleMaps",
    "google_maps": "googleMaps",
    "retrieval": "retrieval",
}
# OpenAI's hosted tool types with a Vertex equivalent (their options have none: warned, not sent).
OPENAI_BUILTINS = {
    "web_search": "googleSearch",
    "web_search_preview": "googleSearch",
    "code_interpreter": "codeExecution",
}
# Fields of older API versions that Vertex v1 no longer accepts (the seed shows ``disable_attributon``).
_OBSOLETE_FIELDS = frozenset({"disableAttribution", "disableAttributon"})
_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$")
_CHOICE_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY", "any": "ANY", "validated": "VALIDATED"}


def _bad(message: str, ctx: Any, param: str = "tools") -> BadRequestError:
    return BadRequestError(message, model=getattr(ctx, "model", None), param=param)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def camel_keys(value: Any) -> Any:
    """snake_case keys → camelCase, recursively, dropping obsolete fields (built-in tool configs)."""
    if isinstance(value, dict):
        return {camel(k): camel_keys(v) for k, v in value.items() if camel(k) not in _OBSOLETE_FIELDS}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def function_declaration(function: Any, ctx: Any, where: str) -> dict[str, Any]:
    """One OpenAI ``function`` object → a Vertex ``FunctionDeclaration`` (parameters sanitized)."""
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise _bad(f"{where}: a function tool needs a 'function' object with a string 'name'", ctx)
    name = function["name"]
    if not _FUNCTION_NAME.match(name):
        raise _bad(
            f"{where}: function name {name!r} is not accepted by Vertex AI (start with a letter or underscore; "
            "then letters, digits, '_', '.', ':' or '-'; at most 128 characters)",
            ctx,
        )
    declaration: dict[str, Any] = {"name": name}
    if isinstance(function.get("description"), str) and function["description"]:
        declaration["description"] = function["description"]
    parameters = function.get("parameters")
    if parameters is not None:
        try:
            schema = to_vertex_schema(parameters)
        except VertexSchemaError as exc:
            raise _bad(f"{where}.parameters: {exc}", ctx) from None
        if schema.get("properties"):  # Vertex rejects an OBJECT without properties
            declaration["parameters"] = schema
    return declaration


def _one_tool(tool: Any, ctx: Any, where: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(function declarations, built-in Tool object) for one entry of OpenAI ``tools``."""
    if not isinstance(tool, dict):
        raise _bad(f"{where}: each tool must be an object", ctx)
    if tool.get("type") == "function" or "function" in tool:
        return [function_declaration(tool.get("function"), ctx, where)], None
    if tool.get("type") in OPENAI_BUILTINS:  # OpenAI's own hosted tools, e.g. {"type": "web_search"}
        _warn_unmapped(where, {k: v for k, v in tool.items() if k != "type"}, ctx)
        return [], {OPENAI_BUILTINS[tool["type"]]: {}}
    for key in ("functionDeclarations", "function_declarations"):
        if key in tool:
            items = tool[key] if isinstance(tool[key], list) else []
            return [function_declaration(f, ctx, f"{where}.{key}[{i}]") for i, f in enumerate(items)], None
    builtins = [k for k in tool if k in BUILTIN_TOOLS]
    if len(builtins) != 1 or len(tool) != 1:
        raise _bad(
            f"{where}: unsupported tool {sorted(tool)!r}; use an OpenAI function tool or one of "
            f"{', '.join(sorted({v for v in BUILTIN_TOOLS.values()}))}",
            ctx,
        )
    config = tool[builtins[0]]
    return [], {BUILTIN_TOOLS[builtins[0]]: camel_keys(config) if isinstance(config, dict) else {}}


def check_combination(tools: list[dict[str, Any]], ctx: Any) -> None:
    """Function declarations next to built-in tools only where the model's spec allows it.

    ``mixed_tools`` is ``true`` (any built-in) or the list of built-ins allowed beside functions.
    """
    has_functions = any("functionDeclarations" in t for t in tools)
    allowed = ctx.capabilities.get("mixed_tools", False)
    builtins = [name for t in tools for name in t if name != "functionDeclarations"]
    if isinstance(allowed, list):
        builtins = [name for name in builtins if name not in allowed]
        allowed = False
    if has_functions and builtins and not allowed:
        raise _bad(
            f"{ctx.model} cannot combine function tools with built-in tools ({', '.join(builtins)}) in one request: "
            "Vertex AI answers 'Multiple tools are supported only when they are all search tools'. "
            "Send them in separate requests.",
            ctx,
        )


@register("gemini_tools", kind="param")
def gemini_tools(tools: list[Any], ctx: Any) -> dict[str, Any]:
    """OpenAI ``tools`` → ``{"tools": [...]}``: one Tool with all declarations, one Tool per built-in."""
    declarations: list[dict[str, Any]] = []
    builtins: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        found, builtin = _one_tool(tool, ctx, f"tools[{i}]")
        declarations += found
        if builtin is not None:
            builtins.append(builtin)
    names = [d["name"] for d in declarations]
    if len(set(names)) != len(names):
        raise _bad(f"tools: function names must be unique, got {names}", ctx)
    result = ([{"functionDeclarations": declarations}] if declarations else []) + builtins
    check_combination(result, ctx)
    return {"tools": result} if result else {}


def _warn_unmapped(where: str, options: dict[str, Any], ctx: Any) -> None:
    """OpenAI search options (search_context_size, user_location...) that Google Search grounding has no field for."""
    if options:
        log.warning(
            "%s: %s has no Vertex AI equivalent for %s; Google Search grounding is used without them",
            getattr(ctx, "model", None),
            where,
            ", ".join(sorted(options)),
        )


@register("gemini_web_search", kind="param")
def gemini_web_search(options: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """OpenAI ``web_search_options`` → a ``googleSearch`` tool (its OpenAI sub-options have no Vertex equivalent)."""
    _warn_unmapped("web_search_options", options, ctx)
    tools = list(ctx.body.get("tools", []))
    if not any("googleSearch" in t for t in tools):
        tools.append({"googleSearch": {}})
    check_combination(tools, ctx)
    return {"tools": tools}


@register("gemini_tool_choice", kind="param")
def gemini_tool_choice(choice: Any, ctx: Any) -> dict[str, Any]:
    """OpenAI ``tool_choice`` → ``toolConfig.functionCallingConfig`` (a named function → ANY + allowed names)."""
    if isinstance(choice, str):
        mode = _CHOICE_MODES.get(choice)
        if mode is None:
            raise _bad(f"tool_choice {choice!r} is not one of auto, none, required", ctx, "tool_choice")
        return {"toolConfig": {"functionCallingConfig": {"mode": mode}}}
    name = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    if not isinstance(name, str):
        raise _bad(
            'tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name": ...}}',
            ctx,
            "tool_choice",
        )
    declared = [d["name"] for t in ctx.body.get("tools", []) for d in t.get("functionDeclarations", [])]
    if name not in declared:
        raise _bad(
            f"tool_choice names function {name!r}, which is not among the tools ({', '.join(declared) or 'none'})",
            ctx,
            "tool_choice",
        )
    return {"toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}}


# --------------------------------------------------------------------------- signatures in tool-call ids


def encode_call_id(call_id: str | None, signature: str, seed: str) -> str:
    """An OpenAI tool-call id that carries ``signature`` (stable: derived from the signature)."""
    base = call_id or "call_" + hashlib.sha1(f"{seed}:{signature}".encode()).hexdigest()[:24]
    return f"{base}{SIGNATURE_MARK}{signature}"


def split_call_id(call_id: str) -> tuple[str, str | None]:
    """``call_x__thought__SIG`` → (``call_x``, ``SIG``); an id without a signature → (id, None)."""
    base, mark, signature = call_id.partition(SIGNATURE_MARK)
    return (base, signature) if mark and signature else (call_id, None)


@register("gemini_tool_call_ids", kind="extractor", keeps_null=True)
def gemini_tool_call_ids(calls: Any) -> Any:
    """Extractor transform: calls carrying a ``thoughtSignature`` get it encoded into their id."""
    if not isinstance(calls, list):
        return calls
    out = []
    for position, call in enumerate(calls):
        if isinstance(call, dict) and call.get("signature"):
            seed = f"{call.get('name')}:{position}"
            call = {**call, "id": encode_call_id(call.get("id"), call["signature"], seed)}
        out.append(call)
    return out
