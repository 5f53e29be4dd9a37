"""One proxy instance in its own process, for the shared-state tests: ``python -m tests.proxy.shared.instance``.

Arguments: config path, port, and the time (seconds) its rate-limit windows use, so a
test never straddles a minute boundary (the proxy otherwise takes Redis's clock).
Serves until killed; logs go to stderr (the tests read the outage messages there).
"""

from __future__ import annotations

import logging
import sys

import uvicorn

from engine.proxy.app import create_app


def main(argv: list[str]) -> None:
    config, port, now = argv[0], int(argv[1]), float(argv[2])
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    app = create_app(config)
    shared = app.proxy.shared
    assert shared is not None and shared.backend.shared, "the config must name a Redis"
    shared.backend.clock = lambda: now  # type: ignore[attr-defined]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")


if __name__ == "__main__":
    main(sys.argv[1:])
