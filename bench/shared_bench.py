"""Shared-state benchmark: proxy requests per second with Redis-backed limits, against the same limits in memory.

Same setup as bench/proxy_bench.py (its fast upstream, ``vertexlate serve`` with one
worker, wrk with bench/proxy_post.lua, pinned to CPUs when ``taskset`` exists). Two
proxies run side by side on the same config, one with ``router_settings.redis_url``:
a key with ``rpm_limit`` / ``tpm_limit`` / ``max_parallel_requests`` and a deployment with
``rpm`` / ``tpm`` / ``max_parallel_requests`` (far above the load, so nothing is refused),
so every request runs the key check and the deployment check (one Redis round trip
each) and its finish update (batched). The wrk runs alternate between the two.

Target (issue 16): with Redis within 20% of without.

    python bench/shared_bench.py [--duration 5] [--connections 16] [--rounds 2] [--redis redis://127.0.0.1:6379/0]

Uses its own key prefix on that Redis and deletes only its own keys afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from proxy_bench import (  # noqa: E402
    KEY,
    MESSAGES,
    MODEL,
    free_port,
    line,
    start_proxy,
    start_upstream,
    wait_ready,
    wrk,
)

BIG = 10**9


def write_config(directory: Path, upstream: str, name: str, redis: dict[str, Any]) -> Path:
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
                    "rpm": BIG,
                    "tpm": BIG,
                    "max_parallel_requests": 10_000,
                },
            }
        ],
        "router_settings": redis,
        "general_settings": {
            "keys": [
                {
                    "key": KEY,
                    "key_alias": "bench",
                    "rpm_limit": BIG,
                    "tpm_limit": BIG,
                    "max_parallel_requests": 10_000,
                }
            ]
        },
    }
    path = directory / f"{name}.yaml"
    path.write_text(json.dumps(config))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each proxy")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("SKIPPED: wrk is not installed (Debian: apt-get install wrk)")
        return 0
    import redis

    try:
        redis.Redis.from_url(args.redis, socket_timeout=1).ping()
    except Exception as exc:
        print(f"SKIPPED: no Redis at {args.redis} ({type(exc).__name__})")
        return 0
    pin = args.pin and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    cpus = ("0", "1") if pin else (None, None)
    namespace = f"vxbench-{uuid.uuid4().hex[:8]}"
    upstream, base = start_upstream(cpus[1])
    chat = {"model": "bench-chat", "messages": MESSAGES}
    auth = f"Bearer {KEY}"
    runs: dict[str, list[dict[str, Any]]] = {"memory": [], "redis": []}
    procs = {}
    with tempfile.TemporaryDirectory() as tmp:
        configs = {
            "memory": write_config(Path(tmp), base, "memory", {}),
            "redis": write_config(
                Path(tmp), base, "redis", {"redis_url": args.redis, "redis_namespace": namespace}
            ),
        }
        try:
            for name, config in configs.items():
                port = free_port()
                procs[name] = (start_proxy(config, port, cpus[0], "uvicorn"), f"http://127.0.0.1:{port}")
            for proc, url in procs.values():
                wait_ready(url, proc)
                wrk(url + "/v1/chat/completions", chat, 4, 2, cpus[1], auth)  # warm-up
            for _ in range(args.rounds):
                for name, (_, url) in procs.items():
                    runs[name].append(
                        wrk(
                            url + "/v1/chat/completions", chat, args.connections, args.duration, cpus[1], auth
                        )
                    )
        finally:
            for proc, _ in procs.values():
                proc.terminate()
                proc.wait(30)
            upstream.terminate()
            upstream.wait(10)
            client = redis.Redis.from_url(args.redis)
            keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
            if keys:
                client.delete(*keys)
    print(f"{args.connections} connections, {args.duration}s per run, {args.rounds} rounds, pinned: {pin}")
    for name, figures in runs.items():
        for i, f in enumerate(figures):
            print(line(f"{name} limits, run {i + 1}", f))
    memory = statistics.median(f["rps"] for f in runs["memory"])
    shared = statistics.median(f["rps"] for f in runs["redis"])
    failed = sum(f["non2xx"] + f["socket_errors"] for fs in runs.values() for f in fs)
    # Each round runs both proxies back to back: its ratio is the fairest figure on a busy machine.
    ratios = [r["rps"] / m["rps"] for m, r in zip(runs["memory"], runs["redis"], strict=True)]
    ratio = statistics.median(ratios)
    print(f"limits in memory: {memory:.0f} req/s; limits in Redis: {shared:.0f} req/s (medians)")
    print(f"Redis / memory per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f}")
    print(f"target Redis within 20% of memory: {'met' if ratio >= 0.8 and not failed else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
