"""Proxy benchmark: latency the proxy adds, and requests per second per worker, measured with wrk.

Three processes on loopback, so none shares another's GIL: the fast upstream
(bench/fast_upstream.py, canned Vertex AI replies, far faster than the proxy), the proxy
(``vertexlate serve``, one worker) and the load generator (``wrk`` with
bench/proxy_post.lua posting a non-streaming chat request).

1. Sequential (1 connection): p50/p99 calling the upstream directly, then through the
   proxy; the difference is the latency the proxy adds.
2. Load: 16 connections through the proxy; requests (or streams) per second and p99,
   beside wrk straight to the upstream with the same connections (the raw baseline).
3. ``--stream``: the same for ``stream: true`` (20 SSE events per stream), plus the
   time to first token: a sequential raw-socket client times the first ``data:`` event,
   direct and through the proxy, interleaved.

Targets (issues 8 and 14): plain: added p50 under 1 ms, >= 2,700 requests/s per worker
with p99 <= 15 ms; streaming: >= 1,500 streams/s at 16 connections, added TTFT p50 <= 1 ms.
With ``--pin`` (default when ``taskset`` exists) the proxy gets CPU 0 and wrk and the
upstream share CPU 1, so the figure is per worker and per core.

    python bench/proxy_bench.py [--duration 10] [--connections 16] [--server uvicorn|granian] [--stream]
    python bench/proxy_bench.py --compare     # uvicorn and granian, plain and streaming

Needs ``wrk`` (Debian: ``apt-get install wrk``); without it the benchmark is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
LUA = ROOT / "bench" / "proxy_post.lua"
KEY = "sk-bench-0123456789"
MODEL = "gemini-2.5-flash"
MESSAGES = [{"role": "user", "content": "Where is Google's headquarters?"}]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cpu: str | None, argv: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *argv] if cpu is not None else argv


def start_upstream(cpu: str | None) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        pinned(cpu, [sys.executable, str(ROOT / "bench" / "fast_upstream.py")]),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().split()[-1]


def _own_dir(tmp: str, name: str) -> Path:
    directory = Path(tmp) / name
    directory.mkdir()
    return directory


def write_config(directory: Path, upstream: str, callbacks: tuple[str, ...] = ()) -> Path:
    from engine_bench import service_account

    config = {
        "model_list": [
            {
                "model_name": "bench-chat",
                "litellm_params": {
                    "model": f"vertex_ai/{MODEL}",
                    "vertex_project": "bench-project",
                    "vertex_location": "us-central1",
                    "vertex_credentials": service_account(f"{upstream}/token"),
                    "api_base": upstream,
                },
            }
        ],
        "general_settings": {"master_key": KEY},
        **({"litellm_settings": {"callbacks": list(callbacks)}} if callbacks else {}),
    }
    path = directory / f"bench_config{'_' + '_'.join(callbacks) if callbacks else ''}.yaml"
    path.write_text(json.dumps(config))
    return path


def start_proxy(
    config: Path, port: int, cpu: str | None, server: str, tree: Path = ROOT
) -> subprocess.Popen[bytes]:
    code = (
        "import sys; from engine.proxy.server import main; "
        f"sys.exit(main(['--config', {str(config)!r}, '--port', '{port}', '--no-access-log', '--log-level', 'warning',"
        f" '--server', {server!r}]))"
    )
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.Popen(pinned(cpu, [sys.executable, "-c", code]), env=env, cwd=tree)


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the proxy exited with {proc.returncode}")
        try:
            if httpx.get(url + "/health/readiness", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the proxy did not become ready")


def wrk(
    url: str, body: dict[str, Any], connections: int, duration: int, cpu: str | None, auth: str = ""
) -> dict[str, Any]:
    threads = min(2, connections)
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(LUA), url]
    env = {**os.environ, "BENCH_BODY": json.dumps(body), "BENCH_AUTH": auth}
    out = subprocess.run(pinned(cpu, argv), env=env, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    figures = json.loads(line[len("BENCH_JSON ") :])
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


def direct_request(upstream: str, stream: bool = False) -> tuple[str, dict[str, Any]]:
    """The upstream URL and Gemini body the proxy itself sends for the benchmark's chat request."""
    from engine_bench import service_account

    from engine.api import prepare

    call = prepare(
        "chat",
        {
            "model": f"vertex_ai/{MODEL}",
            "messages": MESSAGES,
            "api_base": upstream,
            "vertex_project": "bench-project",
            "vertex_location": "us-central1",
            "vertex_credentials": service_account(f"{upstream}/token"),
            "stream": stream,
        },
    )
    return call.url, call.body or {}  # type: ignore[return-value]


def ttft(
    proxy_url: str, direct_url: str, chat: dict[str, Any], direct_body: dict[str, Any], n: int
) -> dict[str, float]:
    """Time to the first ``data:`` event, direct and through the proxy, sequential and interleaved (p50, ms)."""
    import socket
    import statistics
    from urllib.parse import urlsplit

    def request(url: str, body: dict[str, Any], auth: str) -> tuple[tuple[str, int], bytes]:
        parts = urlsplit(url)
        payload = json.dumps(body).encode()
        head = (
            f"POST {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\nhost: {parts.netloc}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n"
            + (f"authorization: {auth}\r\n" if auth else "")
            + "\r\n"
        )
        return (parts.hostname or "", parts.port or 80), head.encode() + payload

    def first_event(address: tuple[str, int], wire: bytes) -> float:
        with socket.create_connection(address) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t0 = time.perf_counter()
            sock.sendall(wire)
            seen = b""
            while b"data: " not in seen:
                data = sock.recv(65536)
                if not data:
                    raise SystemExit("the stream ended before its first event")
                seen += data
            return time.perf_counter() - t0

    direct = request(direct_url, direct_body, "Bearer ya29.bench")
    proxied = request(proxy_url + "/v1/chat/completions", {**chat, "stream": True}, f"Bearer {KEY}")
    d, p = [], []
    for _ in range(n):
        d.append(first_event(*direct))
        p.append(first_event(*proxied))
    return {
        "direct_ttft_p50_ms": statistics.median(d) * 1000,
        "proxy_ttft_p50_ms": statistics.median(p) * 1000,
    }


def run(args: argparse.Namespace, server: str, stream: bool, sequential: bool = True) -> dict[str, Any]:
    """Direct, this tree's proxy and (``--against``) another tree's proxy, each measurement interleaved."""
    cpus = (None, None) if not args.pin else ("0", "1")
    upstream, base = start_upstream(cpus[1])
    chat: dict[str, Any] = {
        "model": "bench-chat",
        "messages": MESSAGES,
        **({"stream": True} if stream else {}),
    }
    auth = f"Bearer {KEY}"
    figures: dict[str, Any] = {}
    trees = {"proxy": ROOT, **({"against": Path(args.against).resolve()} if args.against else {})}
    procs: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # A directory per proxy: each starts its own store (the SQLite default sits beside the config).
        configs = {name: write_config(_own_dir(tmp, name), base) for name in trees}
        if args.metrics:  # the same tree with Prometheus metrics on, interleaved with the one without
            trees["metrics"] = ROOT
            configs["metrics"] = write_config(_own_dir(tmp, "metrics"), base, ("prometheus",))
        try:
            for name, tree in trees.items():
                port = free_port()
                proc = start_proxy(configs[name], port, cpus[0], server, tree)
                procs[name] = (proc, f"http://127.0.0.1:{port}")
            for proc, url in procs.values():
                wait_ready(url, proc)
                wrk(url + "/v1/chat/completions", chat, 4, 2, cpus[1], auth)  # warm-up: connections, token
            direct_url, direct_body = direct_request(base, stream)
            if sequential:
                figures["direct_seq"] = wrk(direct_url, direct_body, 1, args.duration, cpus[1])
                for name, (_, url) in procs.items():
                    figures[f"{name}_seq"] = wrk(
                        url + "/v1/chat/completions", chat, 1, args.duration, cpus[1], auth
                    )
            figures["direct_load"] = wrk(direct_url, direct_body, args.connections, args.duration, cpus[1])
            for name, (_, url) in procs.items():
                figures[f"{name}_load"] = wrk(
                    url + "/v1/chat/completions", chat, args.connections, args.duration, cpus[1], auth
                )
            if stream and sequential:
                figures["ttft"] = ttft(procs["proxy"][1], direct_url, chat, direct_body, args.ttft_requests)
        finally:
            for proc, _ in procs.values():
                proc.terminate()
                proc.wait(30)
            upstream.terminate()
            upstream.wait(10)
    return figures


def line(name: str, f: dict[str, Any], unit: str = "req/s") -> str:
    return (
        f"{name:>26}: {f['rps']:8.0f} {unit}  p50 {f['p50_us'] / 1000:6.2f} ms  p90 {f['p90_us'] / 1000:6.2f} ms  "
        f"p99 {f['p99_us'] / 1000:6.2f} ms  failed {f['non2xx'] + f['socket_errors']}"
    )


def report(figures: dict[str, Any], args: argparse.Namespace) -> None:
    direct, seq, load = figures["direct_seq"], figures["proxy_seq"], figures["proxy_load"]
    unit = "streams/s" if args.stream else "req/s"
    added_p50 = (seq["p50_us"] - direct["p50_us"]) / 1000
    added_p99 = (seq["p99_us"] - direct["p99_us"]) / 1000
    kind = "streaming (20 events)" if args.stream else "plain"
    print(f"server: {args.server}, {kind}, pinned: {args.pin}, {args.duration}s per run")
    for name, f in figures.items():
        if name != "ttft":  # against_*: the other tree's proxy, same upstream, same run
            print(line(name, f, unit))
    print(f"added by the proxy (sequential, whole reply): p50 {added_p50:.3f} ms, p99 {added_p99:.3f} ms")
    print(
        f"proxy / direct at {args.connections} connections: {load['rps'] / figures['direct_load']['rps']:.2f}"
    )
    if "metrics_load" in figures:
        print(
            f"metrics on / off at {args.connections} connections: {figures['metrics_load']['rps'] / load['rps']:.3f}"
        )
    if args.stream:
        t = figures["ttft"]
        added = t["proxy_ttft_p50_ms"] - t["direct_ttft_p50_ms"]
        print(
            f"time to first token p50: direct {t['direct_ttft_p50_ms']:.3f} ms, proxy {t['proxy_ttft_p50_ms']:.3f} ms, "
            f"added {added:.3f} ms"
        )
        print(f"target added TTFT p50 <= 1 ms: {'met' if added <= 1 else 'NOT met'}")
        met = load["rps"] >= 1500
        print(f"target >= 1500 streams/s at {args.connections} connections: {'met' if met else 'NOT met'}")
        return
    print(f"target added p50 < 1 ms: {'met' if added_p50 < 1 else 'NOT met'}")
    met = load["rps"] >= 2700 and load["p99_us"] <= 15_000
    print(
        f"target >= 2700 req/s with p99 <= 15 ms at {args.connections} connections: {'met' if met else 'NOT met'}"
    )


def compare(args: argparse.Namespace) -> dict[str, Any]:
    """Every server, plain and streaming, under load only: the numbers behind the defaults."""
    rows = {}
    for server in ("uvicorn", "granian"):
        for stream in (False, True):
            name = f"{server} {'stream' if stream else 'plain'}"
            rows[name] = run(args, server, stream, sequential=False)["proxy_load"]
            print(line(name, rows[name], "streams/s" if stream else "req/s"), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--server", default="uvicorn", choices=["uvicorn", "granian"])
    parser.add_argument("--stream", action="store_true", help="streaming chat (20 SSE events per stream)")
    parser.add_argument(
        "--ttft-requests", type=int, default=300, help="sequential requests for the TTFT figure"
    )
    parser.add_argument("--compare", action="store_true", help="load test every server, plain and streaming")
    parser.add_argument(
        "--against",
        help="also measure the proxy of another source tree (e.g. a checkout of main), interleaved",
    )
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="also measure the proxy with Prometheus metrics on (callbacks: [prometheus])",
    )
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin processes to CPUs")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("SKIPPED: wrk is not installed (Debian: apt-get install wrk)")
        return 0
    args.pin = args.pin and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    if args.compare:
        figures = compare(args)
    else:
        figures = run(args, args.server, args.stream)
        report(figures, args)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
