"""Async HTTP clients side by side, the measurement behind the engine's async transport.

Every candidate posts the same body to the same fast loopback upstream
(bench/fast_upstream.py, its own process) with 32 concurrent callers in one event loop,
in interleaved rounds, so drift on a shared machine hits all alike. Plain replies are
read whole; streams (20 SSE events, chunked) are read to the end.

    python bench/transport_bench.py [--requests 4000] [--rounds 3] [--concurrency 32] [--uvloop]

Candidates: aiohttp; httpx's own AsyncClient; httpx over the ``httpx-aiohttp`` transport;
the httptools client the proxy used to carry (``--legacy-http1``, plain replies only, if the
module still exists). A missing library is reported and skipped.
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
BODY = json.dumps(
    {"contents": [{"role": "user", "parts": [{"text": "Where is Google's headquarters?"}]}]}
).encode()
HEADERS = {"content-type": "application/json", "authorization": "Bearer ya29.bench"}

Fetch = Callable[[str], Awaitable[int]]


async def aiohttp_client() -> tuple[Fetch, Fetch, Callable[[], Awaitable[None]]]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def plain(url: str) -> int:
        async with session.post(url, data=BODY, headers=HEADERS) as r:
            return len(await r.read())

    async def stream(url: str) -> int:
        n = 0
        async with session.post(url, data=BODY, headers=HEADERS) as r:
            async for chunk in r.content.iter_any():
                n += len(chunk)
        return n

    return plain, stream, session.close


async def httpx_client(transport: Any = None) -> tuple[Fetch, Fetch, Callable[[], Awaitable[None]]]:
    import httpx

    client = httpx.AsyncClient(
        transport=transport, limits=httpx.Limits(max_connections=None, max_keepalive_connections=None)
    )

    async def plain(url: str) -> int:
        r = await client.post(url, content=BODY, headers=HEADERS)
        return len(r.content)

    async def stream(url: str) -> int:
        n = 0
        async with client.stream("POST", url, content=BODY, headers=HEADERS) as r:
            async for chunk in r.aiter_bytes():
                n += len(chunk)
        return n

    return plain, stream, client.aclose


async def httpx_aiohttp_client() -> tuple[Fetch, Fetch, Callable[[], Awaitable[None]]]:
    from httpx_aiohttp import AiohttpTransport

    return await httpx_client(AiohttpTransport())


async def http1_client() -> tuple[Fetch, Fetch | None, Callable[[], Awaitable[None]]]:
    from http1_reference import Pool  # the proxy's former private client (kept in bench/ for the comparison)

    pool = Pool()

    async def plain(url: str) -> int:
        return len((await pool.request("POST", url, HEADERS, BODY, 30.0)).content)

    async def close() -> None:
        pool.close()

    return plain, None, close


async def engine_client() -> tuple[Fetch, Fetch, Callable[[], Awaitable[None]]]:
    from engine.aio import transport as make  # the engine's async transport, once it exists

    client = make()

    async def plain(url: str) -> int:
        reply = await client.send(client.build_request("POST", url, headers=HEADERS, content=BODY))
        return len(reply.content)

    async def stream(url: str) -> int:
        n = 0
        reply = await client.send(
            client.build_request("POST", url, headers=HEADERS, content=BODY), stream=True
        )
        try:
            async for chunk in reply.aiter_bytes():
                n += len(chunk)
        finally:
            await reply.aclose()
        return n

    return plain, stream, client.aclose


CANDIDATES = {
    "aiohttp": aiohttp_client,
    "httpx": httpx_client,
    "httpx+httpx-aiohttp": httpx_aiohttp_client,
    "http1 (httptools)": http1_client,
    "engine.aio": engine_client,
}


async def load(fetch: Fetch, url: str, requests: int, concurrency: int) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) for ``requests`` calls, ``concurrency`` at a time."""
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            t0 = time.perf_counter()
            await fetch(url)
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return requests / elapsed, latencies[int(0.99 * (len(latencies) - 1))] * 1000


async def main_async(args: argparse.Namespace, base: str) -> dict[str, dict[str, list[float]]]:
    plain_url = f"{base}/v1/projects/p/locations/l/publishers/google/models/m:generateContent"
    stream_url = f"{base}/v1/projects/p/locations/l/publishers/google/models/m:streamGenerateContent?alt=sse"
    clients = {}
    for name, make in CANDIDATES.items():
        try:
            clients[name] = await make()
        except ImportError as exc:
            print(f"{name}: skipped ({exc})")
    results: dict[str, dict[str, list[float]]] = {
        n: {"plain": [], "plain_p99": [], "stream": []} for n in clients
    }
    for plain, stream, _ in clients.values():  # warm-up: connections, code paths
        await load(plain, plain_url, 200, args.concurrency)
        if stream is not None:
            await load(stream, stream_url, 200, args.concurrency)
    for _ in range(args.rounds):
        for name, (plain, stream, _) in clients.items():
            rps, p99 = await load(plain, plain_url, args.requests, args.concurrency)
            results[name]["plain"].append(rps)
            results[name]["plain_p99"].append(p99)
            if stream is not None:
                results[name]["stream"].append(
                    (await load(stream, stream_url, args.requests, args.concurrency))[0]
                )
    for _, _, close in clients.values():
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
    fastest = max(statistics.median(r["plain"]) for r in results.values())
    fastest_stream = max((statistics.median(r["stream"]) for r in results.values() if r["stream"]), default=1)
    print(
        f"{args.concurrency} concurrent, {args.requests} requests x {args.rounds} rounds, loop: {'uvloop' if args.uvloop else 'asyncio'}"
    )
    print(f"{'client':>22} | plain req/s | vs fastest | plain p99 ms | streams/s | vs fastest")
    for name, r in results.items():
        plain = statistics.median(r["plain"])
        stream = statistics.median(r["stream"]) if r["stream"] else None
        print(
            f"{name:>22} | {plain:11.0f} | {plain / fastest:10.2f} | {statistics.median(r['plain_p99']):12.2f} | "
            + (f"{stream:9.0f} | {stream / fastest_stream:10.2f}" if stream else f"{'-':>9} | {'-':>10}")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
