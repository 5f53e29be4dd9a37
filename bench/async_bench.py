"""Library async throughput: ``engine.acompletion`` (plain and ``stream=True``) beside a raw client.

32 concurrent callers in one event loop against the fast loopback upstream
(bench/fast_upstream.py, its own process; a stream is 20 SSE events). The baseline in
the same run posts the engine's own body with a raw client (aiohttp when installed, else
httpx) and reads the reply (plain: ``json.loads``; stream: every byte). Rounds interleave.

    python bench/async_bench.py [--requests 4000] [--rounds 3] [--concurrency 32] [--uvloop]

Targets (issue 14): acompletion >= 2,000 req/s at 32 concurrent with p99 <= 30 ms; async
streams >= 1,500/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


async def load(fn: Callable[[], Awaitable[Any]], requests: int, concurrency: int) -> tuple[float, float]:
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            t0 = time.perf_counter()
            await fn()
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return requests / elapsed, latencies[int(0.99 * (len(latencies) - 1))] * 1000


async def raw_client(url: str, stream_url: str, body: bytes) -> tuple[Any, Any, Any, str]:
    headers = {"content-type": "application/json", "authorization": "Bearer ya29.bench"}
    try:
        import aiohttp
    except ImportError:
        import httpx

        client = httpx.AsyncClient(limits=httpx.Limits(max_connections=None))

        async def plain() -> Any:
            return (await client.post(url, content=body, headers=headers)).json()

        async def stream() -> None:
            async with client.stream("POST", stream_url, content=body, headers=headers) as r:
                async for _ in r.aiter_bytes():
                    pass

        return plain, stream, client.aclose, "httpx"
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def plain() -> Any:  # type: ignore[no-redef]
        async with session.post(url, data=body, headers=headers) as r:
            return json.loads(await r.read())

    async def stream() -> None:  # type: ignore[no-redef]
        async with session.post(stream_url, data=body, headers=headers) as r:
            async for _ in r.content.iter_any():
                pass

    return plain, stream, session.close, "aiohttp"


async def main_async(args: argparse.Namespace, base: str) -> dict[str, dict[str, list[float]]]:
    from engine_bench import service_account

    import engine
    from engine.api import prepare

    kwargs = {
        "model": "vertex_ai/gemini-2.5-flash",
        "messages": [{"role": "user", "content": "Where is Google's headquarters?"}],
        "api_base": base,
        "vertex_credentials": service_account(f"{base}/token"),
        "vertex_location": "us-central1",
    }
    call = prepare("chat", dict(kwargs))
    stream_url = prepare("chat", {**kwargs, "stream": True}).url
    body = json.dumps(call.body).encode()
    raw_plain, raw_stream, close, raw_name = await raw_client(call.url, stream_url, body)

    async def eng_plain() -> Any:
        return await engine.acompletion(**kwargs)

    async def eng_stream() -> None:
        async for _ in await engine.acompletion(stream=True, **kwargs):
            pass

    cases = {
        "acompletion": eng_plain,
        f"raw {raw_name}": raw_plain,
        "acompletion stream": eng_stream,
        f"raw {raw_name} stream": raw_stream,
    }
    for fn in cases.values():
        await load(fn, 300, args.concurrency)
    results: dict[str, dict[str, list[float]]] = {n: {"rps": [], "p99": []} for n in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            rps, p99 = await load(fn, args.requests, args.concurrency)
            results[name]["rps"].append(rps)
            results[name]["p99"].append(p99)
    await close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "fast_upstream.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        base = upstream.stdout.readline().split()[-1]  # type: ignore[union-attr]
        if args.uvloop:
            import uvloop

            results = uvloop.run(main_async(args, base))
        else:
            results = asyncio.run(main_async(args, base))
    finally:
        upstream.terminate()
        upstream.wait()
    loop = "uvloop" if args.uvloop else "asyncio"
    print(
        f"{args.concurrency} concurrent, {args.requests} calls x {args.rounds} rounds (medians), loop: {loop}"
    )
    for name, r in results.items():
        print(f"{name:>24}: {statistics.median(r['rps']):7.0f} /s  p99 {statistics.median(r['p99']):6.2f} ms")
    plain = statistics.median(results["acompletion"]["rps"])
    p99 = statistics.median(results["acompletion"]["p99"])
    streams = statistics.median(results["acompletion stream"]["rps"])
    print(
        f"target acompletion >= 2000/s, p99 <= 30 ms: {'met' if plain >= 2000 and p99 <= 30 else 'NOT met'}"
    )
    print(f"target async streams >= 1500/s: {'met' if streams >= 1500 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
