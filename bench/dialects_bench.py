"""Cost of the dialects: ``anthropic_messages`` and ``responses`` beside ``completion`` on the same model, same run.

All calls go to the local emulator (in this process) with the same prompt; the chat call
is the baseline, so the ratio shows what translating to and from the dialect adds:

    python bench/dialects_bench.py [--calls 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("NO_GCE_CHECK", "true")


def p50(fn: Callable[[], object], calls: int) -> float:
    for _ in range(20):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    import engine
    from engine.emulator import Emulator

    with Emulator() as emulator:
        vx = {
            "api_base": emulator.url,
            "vertex_credentials": emulator.issue_service_account(project_id="bench"),
            "vertex_location": "us-east5",
        }
        ask = [{"role": "user", "content": "How far is the moon?"}]
        for model in ("vertex_ai/gemini-2.5-flash", "vertex_ai/claude-sonnet-4@20250514"):
            chat = p50(
                lambda m=model: engine.completion(model=m, messages=ask, max_tokens=64, **vx), args.calls
            )
            messages = p50(
                lambda m=model: engine.anthropic_messages(model=m, messages=ask, max_tokens=64, **vx),
                args.calls,
            )
            responses = p50(
                lambda m=model: engine.responses(model=m, input="How far is the moon?", store=False, **vx),
                args.calls,
            )
            print(
                f"{model}: completion p50 {chat:.2f} ms | anthropic_messages {messages:.2f} ms "
                f"({messages / chat:.2f}x) | responses {responses:.2f} ms ({responses / chat:.2f}x)"
            )


if __name__ == "__main__":
    main()
