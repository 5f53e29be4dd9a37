"""OpenAI messages or prompts → the ``:predict`` instance of PaLM 2 text, chat and Codey models.

These retired models take one instance per request whose shape depends on the
model (capability ``instance_format``), per Google's model references:

- ``chat`` (chat-bison, codechat-bison): ``{"context", "messages": [{"author", "content"}]}``
  (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-chat);
- ``text`` (text-bison): ``{"prompt"}``
  (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text);
- ``code`` (code-bison, code-gecko): ``{"prefix"}`` (and ``suffix`` for code-gecko)
  (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/code-completion).

Parameters fill ``instance.*`` while the body is built; ``palm_instances`` then wraps
that single instance into ``instances: [...]`` so the parameter table stays plain data.
Calling ``completion()`` on a text model flattens the conversation into its prompt.
"""

from __future__ import annotations

from typing import Any

from engine.errors import BadRequestError
from engine.transforms import register

PROMPT_FIELD = {"text": "prompt", "code": "prefix"}
AUTHORS = {"user": "user", "assistant": "bot"}


def _text(content: Any, ctx: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        return "\n".join(str(p.get("text", "")) for p in content)
    raise BadRequestError(f"{where}: PaLM models take text only", model=ctx.model, param="messages")


def _chat_instance(messages: list[dict[str, Any]], ctx: Any) -> dict[str, Any]:
    context, turns = [], []
    for i, message in enumerate(messages):
        role, text = message.get("role"), _text(message.get("content"), ctx, f"messages[{i}]")
        if role in ("system", "developer"):
            context.append(text)
        elif role in AUTHORS:
            turns.append({"author": AUTHORS[role], "content": text})
        else:
            raise BadRequestError(
                f"messages[{i}]: PaLM chat takes system, user and assistant messages, not {role!r}",
                model=ctx.model,
                param="messages",
            )
    instance: dict[str, Any] = {"messages": turns}
    if context:
        instance["context"] = "\n\n".join(context)
    return instance


def _prompt(value: Any, ctx: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    if isinstance(value, list) and all(isinstance(m, dict) for m in value):
        return "\n\n".join(_text(m.get("content"), ctx, f"messages[{i}]") for i, m in enumerate(value))
    raise BadRequestError(
        "PaLM text models take one prompt string per request", model=ctx.model, param="prompt"
    )


@register("palm_instance", kind="param")
def palm_instance(value: Any, ctx: Any) -> dict[str, Any]:
    """``messages`` or ``prompt`` → ``{"instance": {...}}`` in the model's instance format."""
    fmt = ctx.capabilities.get("instance_format", "text")
    if fmt == "chat":
        if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
            value = [{"role": "user", "content": _prompt(value, ctx)}]
        return {"instance": _chat_instance(value, ctx)}
    if fmt not in PROMPT_FIELD:
        raise BadRequestError(f"unknown instance_format {fmt!r} in the spec of {ctx.model}", model=ctx.model)
    return {"instance": {PROMPT_FIELD[fmt]: _prompt(value, ctx)}}


@register("palm_instances", kind="request_finalize")
def palm_instances(body: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Wrap the one instance built from the parameters into ``instances: [...]``."""
    body["instances"] = [body.pop("instance", {})]
    return body
