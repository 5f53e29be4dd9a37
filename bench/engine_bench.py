"""Per-call overhead of ``engine.completion`` versus raw httpx, and the import time of ``engine``.

Both clients post the same body to the same fast loopback upstream (bench/fast_upstream.py,
in its own process) in the same run, so the ratio holds on a noisy machine. Raw httpx is a
hand-written call: ``client.post(url, json=body, headers=...)`` and ``.json()`` on the reply,
with the body the engine built for the same arguments:

    python bench/engine_bench.py [--calls 2000]

Targets (issue 2): engine p50 within 1.3x of raw httpx; ``import engine`` under 150 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_GCE_CHECK", "true")


def service_account(token_uri: str) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "bench-project",
        "private_key_id": "bench",
        "private_key": pem,
        "client_email": "bench@bench-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_calls(base: str, calls: int) -> dict[str, float]:
    import httpx

    import engine
    from engine.api import prepare

    kwargs = {
        "model": "vertex_ai/gemini-2.5-flash",
        "messages": [{"role": "user", "content": "Where is Google's headquarters?"}],
        "temperature": 0.2,
        "max_tokens": 64,
        "api_base": base,
        "vertex_credentials": service_account(f"{base}/token"),
        "vertex_location": "us-central1",
    }
    call = prepare("chat", dict(kwargs))
    body = call.body  # the exact body the engine sends; raw httpx serializes it, as a hand-written call would
    headers = {"authorization": "Bearer ya29.bench"}
    raw = httpx.Client()
    for _ in range(200):  # warm both paths: connections, spec compilation, token
        engine.completion(**kwargs)
        raw.post(call.url, json=body, headers=headers).json()
    engine_times, raw_times = [], []
    for _ in range(calls):  # interleaved, so drift affects both alike
        t0 = time.perf_counter()
        engine.completion(**kwargs)
        t1 = time.perf_counter()
        raw.post(call.url, json=body, headers=headers).json()
        t2 = time.perf_counter()
        engine_times.append(t1 - t0)
        raw_times.append(t2 - t1)
    return {
        "engine_p50_ms": statistics.median(engine_times) * 1000,
        "engine_p99_ms": percentile(engine_times, 0.99) * 1000,
        "raw_p50_ms": statistics.median(raw_times) * 1000,
        "raw_p99_ms": percentile(raw_times, 0.99) * 1000,
    }


def import_time_ms(runs: int = 7) -> float:
    """Median cumulative import time of ``engine`` as ``python -X importtime`` reports it."""
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import engine"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        for line in out.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == "engine":
                samples.append(int(parts[1]) / 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "fast_upstream.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        base = upstream.stdout.readline().split()[-1]  # type: ignore[union-attr]
        figures = bench_calls(base, args.calls)
    finally:
        upstream.terminate()
        upstream.wait()
    figures["ratio_p50"] = figures["engine_p50_ms"] / figures["raw_p50_ms"]
    figures["import_engine_ms"] = import_time_ms()
    print(f"calls: {args.calls} sequential, interleaved, same loopback upstream")
    for name, value in figures.items():
        print(f"{name:>18}: {value:8.3f}")
    print(f"target p50 ratio <= 1.3: {'met' if figures['ratio_p50'] <= 1.3 else 'NOT met'}")
    print(f"target import < 150 ms: {'met' if figures['import_engine_ms'] < 150 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
