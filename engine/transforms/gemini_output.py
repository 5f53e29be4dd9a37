"""Structured output: ``response_format`` → Gemini's JSON mode, and ``enforce_validation`` on the reply.

Why code: the schema goes to one of three places depending on the model's
capabilities — ``responseJsonSchema`` (full JSON Schema, ``json_schema``),
``responseSchema`` (the OpenAPI subset, sanitized; ``response_schema``) or, for
models with neither, into the prompt as an instruction (as the seed describes),
while the request still asks for ``application/json``. Validation of the answer
is a response finalize step raising ``JSONSchemaValidationError`` with the raw text.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from engine.errors import BadRequestError, JSONSchemaValidationError
from engine.transforms import register
from engine.transforms.gemini_schema import VertexSchemaError, to_vertex_schema

INSTRUCTION = "Use this JSON schema for your answer (reply with JSON only):\n```json\n{schema}\n```"


def _bad(message: str, ctx: Any) -> BadRequestError:
    return BadRequestError(message, model=ctx.model, param="response_format")


def requested_schema(value: dict[str, Any]) -> Any:
    """The schema of either form: the seed's ``response_schema`` or OpenAI's ``json_schema.schema``."""
    nested = value.get("json_schema")
    if isinstance(nested, dict) and "schema" in nested:
        return nested["schema"]
    return value.get("response_schema")


def wants_validation(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    nested = value.get("json_schema")
    return bool(
        value.get("enforce_validation") or (isinstance(nested, dict) and nested.get("enforce_validation"))
    )


def _with_instruction(contents: list[dict[str, Any]], schema: Any) -> list[dict[str, Any]]:
    """A copy of ``contents`` whose last user turn ends with the schema instruction."""
    text = {"text": INSTRUCTION.format(schema=json.dumps(schema, indent=2, ensure_ascii=False))}
    out = list(contents)
    for index in range(len(out) - 1, -1, -1):
        if out[index]["role"] == "user":
            out[index] = {**out[index], "parts": [*out[index]["parts"], text]}
            return out
    return [*out, {"role": "user", "parts": [text]}]


@register("gemini_response_format", kind="param")
def gemini_response_format(value: Any, ctx: Any) -> dict[str, Any]:
    """``response_format`` → ``generationConfig`` JSON mode (+ schema where the model takes one)."""
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return {}
    if kind not in ("json_object", "json_schema"):
        raise _bad(f"response_format.type must be text, json_object or json_schema, got {kind!r}", ctx)
    schema = requested_schema(value)
    if kind == "json_schema" and not isinstance(schema, dict):
        raise _bad("response_format of type json_schema needs json_schema.schema (an object)", ctx)
    config: dict[str, Any] = {"responseMimeType": "application/json"}
    fragment: dict[str, Any] = {"generationConfig": config}
    if schema is None:
        return fragment
    caps = ctx.capabilities
    if caps.get("json_schema"):
        config["responseJsonSchema"] = schema
    elif caps.get("response_schema"):
        try:
            config["responseSchema"] = to_vertex_schema(schema, ordering=True)
        except VertexSchemaError as exc:
            raise _bad(f"response schema: {exc}", ctx) from None
    else:
        fragment["contents"] = _with_instruction(ctx.body.get("contents", []), schema)
    return fragment


@register("gemini_enforce_validation", kind="response_finalize")
def gemini_enforce_validation(obj: Any, raw: Any, ctx: Any) -> Any:
    """Response finalize: with ``enforce_validation`` every answer must be JSON valid for the schema."""
    value = ctx.params.get("response_format")
    if not wants_validation(value):
        return obj
    schema = requested_schema(value)
    for choice in obj["choices"]:
        text = choice["message"].get("content")
        if text is None:
            continue
        validate_json(text, schema, ctx.model)
    return obj


def validate_json(text: str, schema: Any, model: str | None) -> Any:
    """Parse ``text`` and check it against ``schema``; any failure is a ``JSONSchemaValidationError``."""
    import jsonschema

    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise JSONSchemaValidationError(
            f"the model's answer is not valid JSON ({exc})", raw_response=text, schema=schema, model=model
        ) from None
    if isinstance(schema, dict):
        validator = _validator(json.dumps(schema, sort_keys=True))
        error = jsonschema.exceptions.best_match(validator.iter_errors(parsed))
        if error is not None:
            where = "/".join(map(str, error.absolute_path)) or "(root)"
            raise JSONSchemaValidationError(
                f"the model's answer does not match the response schema at {where}: {error.message}",
                raw_response=text,
                schema=schema,
                model=model,
            )
    return parsed


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    """One validator per distinct response schema: callers repeat the same schema on every request."""
    import jsonschema

    schema = json.loads(schema_json)
    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)(schema)
