"""Per-stream CPU cost of the proxy's streaming path, in process, and where it goes.

The proxy's ASGI app is called directly (no HTTP server, no load generator in the way) for
``--streams`` streamed chat requests, ``--concurrency`` at a time, against the fast upstream
(bench/fast_upstream.py, its own process, 20 events a stream). It prints microseconds of
this process's CPU per stream and per event; ``--profile`` adds a cProfile table, so the
per-event cost can be found without a sampling profiler (py-spy, pyinstrument).

    python bench/stream_profile.py [--streams 3000] [--concurrency 16] [--profile] [--plain]
    python bench/stream_profile.py --against /path/to/other/checkout   # interleaved rounds, both trees
    python bench/stream_profile.py --normalize [--against TREE]   # the engine's event path alone, no proxy

``--normalize`` times what the engine does per stream once the bytes have arrived, with no
HTTP, no proxy and no event loop: the 20 events' SSE decoding, JSON parsing, normalizing
(engine/response.py ``ChatStream``) and serializing the chunks, over the fast upstream's events.

With ``--against`` each round runs once per tree, each in its own process, alternating, and
the medians are printed side by side (the machine's load moves both alike).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from proxy_bench import KEY, MESSAGES, write_config  # noqa: E402


def start_upstream(cpu: None, stream_seconds: float, events: int = 20) -> tuple[Any, str]:
    import subprocess

    argv = [sys.executable, str(ROOT / "bench" / "fast_upstream.py"), "--stream-seconds", str(stream_seconds)]
    argv += ["--events", str(events)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().split()[-1]


def scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {KEY}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }


async def one(app: Any, body: bytes) -> int:
    """One request through the ASGI app; the number of body bytes it wrote."""
    sent = [0]
    disconnect = asyncio.Event()
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent[0] += len(message.get("body", b""))

    await app(scope(body), receive, send)
    disconnect.set()
    return sent[0]


async def drive(app: Any, body: bytes, streams: int, concurrency: int) -> None:
    left = [streams]

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            await one(app, body)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def compare(args: argparse.Namespace) -> None:
    import os
    import re
    import subprocess

    trees = {"this tree": ROOT, "against": args.against.resolve()}
    figures: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            argv = [sys.executable, __file__, "--streams", str(args.streams), "--rounds", "1"]
            argv += ["--concurrency", str(args.concurrency)] + (["--plain"] if args.plain else [])
            argv += ["--normalize"] if args.normalize else []
            argv += ["--events", str(args.events), "--stream-seconds", str(args.stream_seconds)]
            env = {**os.environ, "PYTHONPATH": str(tree)}
            out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
            figures[name].append(float(re.search(r"median (\d+) us", out).group(1)))  # type: ignore[union-attr]
    kind = "request" if args.plain else "stream"
    kind = "stream, event path alone" if args.normalize else kind
    for name, values in figures.items():
        values.sort()
        print(f"{name:>10}: CPU per {kind} median {values[len(values) // 2]:.0f} us (rounds: {values})")
    ratio = statistics_median(figures["this tree"]) / statistics_median(figures["against"])
    print(f"this tree / against: {ratio:.2f}")


def normalize_only(streams: int, rounds: int, events: int = 20) -> None:
    """CPU per stream of SSE decode -> JSON -> ChatStream -> chunk JSON, in process (``--normalize``)."""
    sys.path.insert(0, os.environ.get("PYTHONPATH", str(ROOT)).split(os.pathsep)[0])
    from fast_upstream import stream_events

    from engine import fastjson
    from engine.registry import default_registry
    from engine.response import ChatStream
    from engine.sse import SSEDecoder

    spec = next(f for f in default_registry().families if f.name == "gemini").operations["chat"].stream
    body = b"".join(event.split(b"\r\n", 1)[1][:-2] for event in stream_events(events))  # HTTP chunking off

    def one() -> int:
        normalizer = ChatStream(spec.events, spec.chunk, spec.event_key, "bench-chat", True)
        chunks = []
        for event in SSEDecoder().feed(body):
            chunks += normalizer.feed(fastjson.loads(event.data))
        chunks += normalizer.finish()
        return len(b"".join(fastjson.dumps(chunk) for chunk in chunks))

    one()
    figures = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(streams):
            one()
        figures.append((time.process_time() - start) / streams * 1e6)
    figures.sort()
    rounds_text = ", ".join(f"{f:.0f}" for f in figures)
    print(f"event path alone: median {figures[len(figures) // 2]:.0f} us per stream (rounds: {rounds_text})")


def statistics_median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile table")
    parser.add_argument("--plain", action="store_true", help="non-streaming requests instead")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--stream-seconds", type=float, default=0.0, help="upstream spreads each stream over this long"
    )
    parser.add_argument("--against", type=Path, help="another checkout, measured in the same run")
    parser.add_argument("--events", type=int, default=20, help="events per stream (the upstream's)")
    parser.add_argument("--normalize", action="store_true", help="the engine's event path alone (no proxy)")
    args = parser.parse_args()
    if args.against is not None:
        if args.profile:
            parser.error("--profile profiles one tree: leave out --against")
        return compare(args)
    if args.normalize:
        return normalize_only(args.streams, args.rounds, args.events)
    sys.path.insert(0, os.environ.get("PYTHONPATH", str(ROOT)).split(os.pathsep)[0])
    from engine.proxy.app import create_app, freeze_heap

    upstream, url = start_upstream(None, args.stream_seconds, args.events)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(write_config(Path(tmp), url))
            freeze_heap()  # as `vertexlate serve` does after loading the config
            payload = {"model": "bench-chat", "messages": MESSAGES, "stream": not args.plain}
            body = json.dumps(payload).encode()
            loop = asyncio.new_event_loop()
            loop.run_until_complete(drive(app, body, 200, args.concurrency))  # warm up: tokens, connections
            figures = []
            for _ in range(args.rounds):
                start = time.process_time()
                loop.run_until_complete(drive(app, body, args.streams, args.concurrency))
                figures.append((time.process_time() - start) / args.streams * 1e6)
            figures.sort()
            per = figures[len(figures) // 2]
            kind = "request" if args.plain else "stream"
            print(f"CPU per {kind}: median {per:.0f} us (rounds: {', '.join(f'{f:.0f}' for f in figures)})")
            if not args.plain:
                events = args.events
                print(
                    f"  = {per / events:.1f} us per event ({events} events a stream), {1e6 / per:.0f} {kind}s/s/core"
                )
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                loop.run_until_complete(drive(app, body, args.streams, args.concurrency))
                profiler.disable()
                stats = pstats.Stats(profiler)
                stats.sort_stats("tottime").print_stats(35)
            loop.close()
    finally:
        upstream.terminate()


if __name__ == "__main__":
    main()
