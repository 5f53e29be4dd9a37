"""The gateway's other APIs: Anthropic's Messages API, OpenAI's Responses API, the Vertex AI pass-through.

Each module serves one dialect on top of :class:`~engine.proxy.handlers.Proxy` (its
key table, model checks and router), calling the engine's dialect functions;
:func:`routes` is what the app registers.
"""

from __future__ import annotations

from starlette.routing import Route

from engine.proxy.handlers import Proxy


def routes(proxy: Proxy) -> list[Route]:
    """Every dialect route, each also without the ``/v1`` prefix (as the OpenAI paths are)."""
    from engine.proxy.dialects.anthropic import Messages
    from engine.proxy.dialects.responses import Responses
    from engine.proxy.dialects.vertex import PassThrough

    # a proxy given a `response_store` (e.g. database-backed) keeps Responses there, else in memory
    messages, responses = Messages(proxy), Responses(proxy, getattr(proxy, "response_store", None))
    table = []
    for prefix in ("/v1", ""):
        table.append(Route(prefix + "/messages", messages.create, methods=["POST"]))
        table.append(Route(prefix + "/messages/count_tokens", messages.count_tokens, methods=["POST"]))
        table.append(Route(prefix + "/responses", responses.create, methods=["POST"]))
        table.append(Route(prefix + "/responses/{response_id}", responses.retrieve, methods=["GET"]))
        table.append(Route(prefix + "/responses/{response_id}", responses.delete, methods=["DELETE"]))
        table.append(Route(prefix + "/responses/{response_id}/cancel", responses.cancel, methods=["POST"]))
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    table.append(Route("/vertex_ai/{path:path}", PassThrough(proxy).handle, methods=methods))
    return table
