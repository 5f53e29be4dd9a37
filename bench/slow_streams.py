"""Many long streams through one proxy worker: all served at once, at what memory.

The fast upstream (bench/fast_upstream.py) streams 20 events spread over
``--stream-seconds`` (default 10); a client process opens ``--streams`` (default 2,000)
concurrent streaming chat requests, first straight to the upstream (the raw baseline),
then through the proxy (``vertexlate serve``, one worker), and times each stream to its
end. The proxy's peak RSS is read from /proc (VmHWM).

    python bench/slow_streams.py [--streams 2000] [--stream-seconds 10]

Target (issue 14): 2,000 concurrent 10 s streams, all served at once, mean stream time
<= 10.5 s, proxy peak RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


async def one_stream(host: str, port: int, wire: bytes, started: list[int]) -> tuple[float, float, bool]:
    """(seconds to the end, seconds to the first event, complete) for one streamed request."""
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(wire)
    first = 0.0
    ok = False
    seen = b""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if not first and b"data: " in data:
                first = time.perf_counter() - t0
                started[0] += 1
            seen = (seen + data)[-16:]
            if seen.endswith(b"0\r\n\r\n"):
                ok = True
                break
    finally:
        writer.close()
    return time.perf_counter() - t0, first, ok


async def clients(url: str, body: dict[str, Any], auth: str, streams: int) -> dict[str, Any]:
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    head = (
        f"POST {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\nhost: {parts.netloc}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n"
        + (f"authorization: {auth}\r\n" if auth else "")
        + "connection: close\r\n\r\n"
    )
    wire = head.encode() + payload
    started = [0]
    peak = [0]

    async def watch() -> None:
        while True:
            peak[0] = max(peak[0], started[0])
            await asyncio.sleep(0.1)

    watcher = asyncio.ensure_future(watch())
    t0 = time.perf_counter()
    results = await asyncio.gather(
        *(one_stream(parts.hostname or "", parts.port or 80, wire, started) for _ in range(streams)),
        return_exceptions=True,
    )
    watcher.cancel()
    good = [r for r in results if isinstance(r, tuple) and r[2]]
    return {
        "streams": streams,
        "completed": len(good),
        "failed": streams - len(good),
        "wall_s": time.perf_counter() - t0,
        "mean_s": statistics.mean(r[0] for r in good) if good else float("nan"),
        "max_s": max((r[0] for r in good), default=float("nan")),
        "ttft_p50_ms": statistics.median(r[1] for r in good) * 1000 if good else float("nan"),
        "errors": sorted({type(r).__name__ for r in results if isinstance(r, BaseException)}),
    }


def run_clients(url: str, body: dict[str, Any], auth: str, streams: int) -> dict[str, Any]:
    """The client in its own process (so it does not share the proxy's or the upstream's CPU time slice)."""
    argv = [sys.executable, __file__, "--client", url, json.dumps(body), auth, str(streams)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        import uvloop

        url, body, auth, streams = sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], int(sys.argv[5])
        print(json.dumps(uvloop.run(clients(url, body, auth, streams))))
        return 0
    import proxy_bench as pb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--stream-seconds", type=float, default=10.0)
    parser.add_argument("--server", default="uvicorn", choices=["uvicorn", "granian"])
    args = parser.parse_args()
    upstream = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "fast_upstream.py"),
            "--uvloop",
            "--stream-seconds",
            str(args.stream_seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert upstream.stdout is not None
    base = upstream.stdout.readline().split()[-1]
    port = pb.free_port()
    proxy_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        proxy = pb.start_proxy(pb.write_config(Path(tmp), base), port, None, args.server)
        try:
            pb.wait_ready(proxy_url, proxy)
            chat = {"model": "bench-chat", "messages": pb.MESSAGES, "stream": True}
            run_clients(proxy_url + "/v1/chat/completions", chat, f"Bearer {pb.KEY}", 4)  # warm-up: token
            direct_url, direct_body = pb.direct_request(base, stream=True)
            direct = run_clients(direct_url, direct_body, "Bearer ya29.bench", args.streams)
            proxied = run_clients(proxy_url + "/v1/chat/completions", chat, f"Bearer {pb.KEY}", args.streams)
            rss = peak_rss_mb(proxy.pid)
        finally:
            proxy.terminate()
            proxy.wait(60)
            upstream.terminate()
            upstream.wait(10)
    print(
        f"{args.streams} concurrent streams of 20 events over {args.stream_seconds:g} s, one proxy worker ({args.server})"
    )
    for name, r in (("direct", direct), ("proxy", proxied)):
        print(
            f"{name:>8}: completed {r['completed']}/{r['streams']}  mean {r['mean_s']:.3f} s  max {r['max_s']:.3f} s  "
            f"TTFT p50 {r['ttft_p50_ms']:.1f} ms  wall {r['wall_s']:.2f} s  errors {r['errors']}"
        )
    print(f"proxy peak RSS: {rss:.0f} MB")
    ok = (
        proxied["completed"] == args.streams and proxied["mean_s"] <= args.stream_seconds + 0.5 and rss <= 300
    )
    print(
        f"target all served, mean <= {args.stream_seconds + 0.5:g} s, RSS <= 300 MB: {'met' if ok else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
