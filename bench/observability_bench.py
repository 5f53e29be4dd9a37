"""CPU cost of the proxy's observability hooks per request, without the network (robust on a busy machine).

Runs the hooks one successful chat request goes through (request id, trail begin, auth,
model, one upstream attempt, finish: about ten metric updates) in a loop, with metrics off
(:data:`NULL_TRAIL`), metrics on, and metrics plus tracing (an SDK provider with no exporter; and with a
sampler that records no trace, as ``OTEL_TRACES_SAMPLER_ARG`` would set it),
and prints microseconds per request beside the same loop with the hooks off (the baseline, same
run). The share is the added cost against ``--request-us``, what a whole proxy request costs in
CPU: 254 µs by default, bench/store_bench.py's "off" figure on a quiet machine (2026-12-01).

    python bench/observability_bench.py [--requests 20000] [--request-us 254]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from types import SimpleNamespace
from typing import Any

from engine.proxy.keys import Caller
from engine.proxy.observability import request_id
from engine.proxy.observability.metrics import Metrics
from engine.proxy.observability.telemetry import Telemetry
from engine.proxy.operations import CHAT

DEPLOYMENT = SimpleNamespace(
    model="vertex_ai/bench-model", id="bench-0", options={"api_base": "http://127.0.0.1:1"}
)
REQUEST = SimpleNamespace(method="POST", url=SimpleNamespace(path="/v1/chat/completions"), headers={})
RESULT = {"usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42}}
REPLY = SimpleNamespace(status_code=200)
HEADERS = [(b"authorization", b"Bearer x"), (b"content-type", b"application/json")]


async def _upstream(deployment: Any) -> Any:
    return RESULT


async def one(telemetry: Telemetry, caller: Caller) -> None:
    request_id.begin(HEADERS)
    trail = telemetry.begin(REQUEST, CHAT)
    trail.authenticated(caller)
    trail.named("bench-chat")
    await trail.wrap(_upstream)(DEPLOYMENT)
    trail.finish(REPLY)


async def per_request(telemetry: Telemetry, n: int) -> float:
    caller = Caller("bench", None, token="ab" * 32)
    for _ in range(200):
        await one(telemetry, caller)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            await one(telemetry, caller)
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument(
        "--request-us", type=float, default=254.0, help="CPU of one whole proxy request, for the share"
    )
    args = parser.parse_args(argv)
    groups = {"bench-chat"}
    setups = {"off": Telemetry(groups=groups), "metrics": Telemetry(Metrics(), groups=groups)}
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

        from engine.proxy.observability.tracing import Tracing

        setups["metrics+traces"] = Telemetry(Metrics(), Tracing(TracerProvider()), groups=groups)
        unsampled = Tracing(TracerProvider(sampler=TraceIdRatioBased(0.0)))
        setups["traces at 0%"] = Telemetry(Metrics(), unsampled, groups=groups)
    except ImportError:
        pass
    base = None
    for name, telemetry in setups.items():
        us = asyncio.run(per_request(telemetry, args.requests))
        base = us if base is None else base
        print(
            f"{name:>15}: {us:7.2f} µs per request (+{us - base:.2f} µs, "
            f"{100 * (us - base) / args.request_us:.1f}% of a {args.request_us:g} µs request)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
