"""Proxy requests per second with virtual-key auth and spend logging on, against the same proxy without.

Same setup as bench/proxy_bench.py (fast upstream, one proxy worker, wrk; pinned to CPUs
when possible), three proxies in one run:

- off: a static key from the config, no database (what the proxy did before the store);
- sqlite: a key made with /key/generate, checked through the store's cache, every request
  priced and written to the spend log (SQLite file, the default);
- postgresql: the same on PostgreSQL (skipped when no server answers at --pg).

The modes run interleaved ``--rounds`` times and the median of each is reported, so that
a busy moment on a shared machine does not land on one mode only.

Target (issue 15): "on" within 10% of "off". Besides requests per second (which a busy
shared machine disturbs), the proxy process's CPU time per request is shown: the cost of
the store itself, whatever else runs.

    python bench/store_bench.py [--duration 10] [--connections 16] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from proxy_bench import (  # noqa: E402
    KEY,
    MESSAGES,
    free_port,
    line,
    start_proxy,
    start_upstream,
    wait_ready,
    write_config,
    wrk,
)

STATIC_KEY = "sk-bench-static-0123456789"


def configure(path: Path, mode: str, database_url: str | None) -> None:
    config = json.loads(path.read_text())
    general = config["general_settings"]
    if mode == "off":
        del general["master_key"]
        general["keys"] = [{"key": STATIC_KEY}]
    else:
        general["database_url"] = database_url
    path.write_text(json.dumps(config))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), the proxy's cost per request whatever the load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pg_reachable(url: str) -> str | None:
    async def check() -> None:
        import asyncpg

        conn = await asyncpg.connect(url, timeout=3)
        await conn.close()

    try:
        asyncio.run(check())
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def run(args: argparse.Namespace, mode: str, database_url: str | None) -> dict[str, Any]:
    cpus = (None, None) if not args.pin else ("0", "1")
    upstream, base = start_upstream(cpus[1])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    chat = {"model": "bench-chat", "messages": MESSAGES}
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), base)
        configure(config, mode, database_url)
        proxy = start_proxy(config, port, cpus[0], "uvicorn")
        try:
            wait_ready(url, proxy)
            key = STATIC_KEY
            if mode != "off":
                made = httpx.post(
                    url + "/key/generate",
                    json={"max_budget": 1e6},
                    headers={"authorization": f"Bearer {KEY}"},
                )
                made.raise_for_status()
                key = made.json()["key"]
            auth = f"Bearer {key}"
            wrk(url + "/v1/chat/completions", chat, 4, 2, cpus[1], auth)  # warm-up
            before = cpu_seconds(proxy.pid)
            figures = wrk(url + "/v1/chat/completions", chat, args.connections, args.duration, cpus[1], auth)
            used = cpu_seconds(proxy.pid) - before
            figures["cpu_us_per_request"] = (
                used / max(1, figures["requests"]) * 1e6 if used >= 0 else float("nan")
            )
            if mode != "off":
                logs = httpx.get(
                    url + "/global/spend", headers={"authorization": f"Bearer {KEY}"}, timeout=60
                ).json()
                figures["global_spend"] = logs["spend"]
        finally:
            proxy.terminate()
            proxy.wait(30)
            upstream.terminate()
            upstream.wait(10)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--pg",
        default=os.environ.get("VERTEXLATE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved runs per mode (the median is shown)"
    )
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("SKIPPED: wrk is not installed (Debian: apt-get install wrk)")
        return 0
    args.pin = args.pin and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    problem = pg_reachable(args.pg)
    if problem is not None:
        print(f"postgresql: skipped ({problem})")
    schema = f"vxbench_{uuid.uuid4().hex[:8]}"
    sep = "&" if "?" in args.pg else "?"
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        modes = [
            ("off (static key, no db)", "off", None),
            ("on: sqlite", "sqlite", f"sqlite:///{tmp}/bench.db"),
        ]
        if problem is None:
            modes.append(("on: postgresql", "postgresql", f"{args.pg}{sep}schema={schema}"))
        for round_ in range(args.rounds):  # interleaved, so a busy moment hits every mode alike
            for name, mode, url in modes if round_ % 2 == 0 else reversed(modes):
                runs.setdefault(name, []).append(run(args, mode, url))
    if problem is None:

        async def drop() -> None:
            import asyncpg

            conn = await asyncpg.connect(args.pg)
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await conn.close()

        asyncio.run(drop())
    rows = {
        name: sorted(figures, key=lambda f: f["rps"])[len(figures) // 2] for name, figures in runs.items()
    }
    cpu = {
        name: statistics.median(f["cpu_us_per_request"] for f in figures) for name, figures in runs.items()
    }
    print(f"median of {args.rounds} interleaved rounds:")
    off_name = "off (static key, no db)"
    off = rows[off_name]["rps"]
    print(f"pinned: {args.pin}, {args.connections} connections, {args.duration}s per run")
    for name, figures in rows.items():
        ratio = figures["rps"] / off
        rounds = " ".join(f"{f['rps']:.0f}" for f in runs[name])
        print(
            f"{line(name, figures)}  {ratio:6.1%} of off  CPU {cpu[name]:6.0f} us/req (median)  rounds: {rounds}"
        )
    worst = min(f["rps"] for name, f in rows.items() if name.startswith("on")) / off
    print(f"target: store on within 10% of off: {'met' if worst >= 0.9 else 'NOT met'} ({worst:.1%} req/s)")
    extra = max(cpu[name] for name in cpu if name.startswith("on")) / cpu[off_name] - 1
    print(
        f"store CPU per request: +{extra:.1%} over off (req/s of a CPU-bound proxy would fall by about as much)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
