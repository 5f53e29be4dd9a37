"""Proxy benchmark: latency the proxy adds, and requests per second per worker, measured with wrk.

Three processes on loopback, so none shares another's GIL: the fast upstream
(bench/fast_upstream.py, canned Vertex AI replies, far faster than the proxy), the proxy
(``vertexlate serve``, one worker) and the load generator (``wrk`` with
bench/proxy_post.lua posting a non-streaming chat request).

1. Sequential (1 connection): p50/p99 calling the upstream directly, then through the
   proxy; the difference is the latency the proxy adds.
2. Load: 16 connections through the proxy; requests per second and p99.

Targets (issue 8): added p50 under 1 ms; at least 2,000 requests/s per worker with p99
under 20 ms. With ``--pin`` (default when ``taskset`` exists) the proxy gets CPU 0 and
wrk and the upstream share CPU 1, so the figure is per worker and per core.

    python bench/proxy_bench.py [--duration 10] [--connections 16] [--server uvicorn|granian]
    python bench/proxy_bench.py --compare     # granian/uvicorn x builtin/httpx upstream client

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


def write_config(directory: Path, upstream: str, upstream_http: str) -> Path:
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
        "general_settings": {"master_key": KEY, "upstream_http": upstream_http},
    }
    path = directory / "bench_config.yaml"
    path.write_text(json.dumps(config))
    return path


def start_proxy(config: Path, port: int, cpu: str | None, server: str) -> subprocess.Popen[bytes]:
    code = (
        "import sys; from engine.proxy.server import main; "
        f"sys.exit(main(['--config', {str(config)!r}, '--port', '{port}', '--no-access-log', '--log-level', 'warning',"
        f" '--server', {server!r}]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(pinned(cpu, [sys.executable, "-c", code]), env=env, cwd=ROOT)


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


def direct_request(upstream: str) -> tuple[str, dict[str, Any]]:
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
        },
    )
    return call.url, call.body or {}


def run(args: argparse.Namespace, server: str, upstream_http: str, sequential: bool = True) -> dict[str, Any]:
    cpus = (None, None) if not args.pin else ("0", "1")
    upstream, base = start_upstream(cpus[1])
    port = free_port()
    proxy_url = f"http://127.0.0.1:{port}"
    chat = {"model": "bench-chat", "messages": MESSAGES}
    auth = f"Bearer {KEY}"
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        proxy = start_proxy(write_config(Path(tmp), base, upstream_http), port, cpus[0], server)
        try:
            wait_ready(proxy_url, proxy)
            wrk(
                proxy_url + "/v1/chat/completions", chat, 4, 2, cpus[1], auth
            )  # warm-up: connections, token, caches
            if sequential:
                direct_url, direct_body = direct_request(base)
                figures["direct_seq"] = wrk(direct_url, direct_body, 1, args.duration, cpus[1])
                figures["proxy_seq"] = wrk(
                    proxy_url + "/v1/chat/completions", chat, 1, args.duration, cpus[1], auth
                )
            figures["proxy_load"] = wrk(
                proxy_url + "/v1/chat/completions", chat, args.connections, args.duration, cpus[1], auth
            )
        finally:
            proxy.terminate()
            proxy.wait(30)
            upstream.terminate()
            upstream.wait(10)
    return figures


def line(name: str, f: dict[str, Any]) -> str:
    return (
        f"{name:>26}: {f['rps']:8.0f} req/s  p50 {f['p50_us'] / 1000:6.2f} ms  p90 {f['p90_us'] / 1000:6.2f} ms  "
        f"p99 {f['p99_us'] / 1000:6.2f} ms  failed {f['non2xx'] + f['socket_errors']}"
    )


def report(figures: dict[str, Any], args: argparse.Namespace) -> None:
    direct, seq, load = figures["direct_seq"], figures["proxy_seq"], figures["proxy_load"]
    added_p50 = (seq["p50_us"] - direct["p50_us"]) / 1000
    added_p99 = (seq["p99_us"] - direct["p99_us"]) / 1000
    print(
        f"server: {args.server}, upstream client: {args.upstream_http}, pinned: {args.pin}, {args.duration}s per run"
    )
    for name, f in figures.items():
        print(line(name, f))
    print(f"added by the proxy (sequential): p50 {added_p50:.3f} ms, p99 {added_p99:.3f} ms")
    print(f"target added p50 < 1 ms: {'met' if added_p50 < 1 else 'NOT met'}")
    met = load["rps"] >= 2000 and load["p99_us"] < 20_000
    print(
        f"target >= 2000 req/s with p99 < 20 ms at {args.connections} connections: {'met' if met else 'NOT met'}"
    )


def compare(args: argparse.Namespace) -> dict[str, Any]:
    """Every server with every upstream client, under load only: the numbers behind the defaults."""
    rows = {}
    for server in ("uvicorn", "granian"):
        for client in ("httpx", "builtin"):
            rows[f"{server} + {client}"] = run(args, server, client, sequential=False)["proxy_load"]
            print(line(f"{server} + {client}", rows[f"{server} + {client}"]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--server", default="uvicorn", choices=["uvicorn", "granian"])
    parser.add_argument(
        "--upstream-http",
        default="builtin",
        choices=["builtin", "httpx"],
        help="general_settings.upstream_http",
    )
    parser.add_argument("--compare", action="store_true", help="load test every server x upstream client")
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
        figures = run(args, args.server, args.upstream_http)
        report(figures, args)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
