"""``vertexlate serve``: run the proxy under granian or uvicorn, and stop it gracefully.

Graceful shutdown on SIGINT/SIGTERM: the listening socket closes, readiness turns
503, requests in flight finish, and streams get until shortly before the grace period
ends; a stream still open then receives a final error event and is closed cleanly
instead of being cut. :class:`BackgroundProxy` runs the same server in a thread on
loopback for tests and benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.config
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from engine.proxy.app import CONFIG_ENV, GRACE_ENV, create_app, freeze_heap, gc_thresholds
from engine.proxy.config import ProxyConfig, load_config
from engine.proxy.handlers import Proxy
from engine.proxy.observability.exposition import prepare_workers
from engine.proxy.observability.logs import uvicorn_log_config
from engine.proxy.source import ConfigError

log = logging.getLogger("vertexlate.proxy")
START_TIMEOUT = 10.0


class ProxyServer(uvicorn.Server):
    """uvicorn's server, telling the proxy when shutdown begins so it can drain."""

    def __init__(self, config: uvicorn.Config, proxy: Proxy) -> None:
        super().__init__(config)
        self.proxy = proxy
        self.loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.loop is not None and not self.proxy.draining:
            self.loop.call_soon_threadsafe(self.proxy.begin_drain)
        super().handle_exit(sig, frame)
        self._captured_signals.clear()  # exit 0 after a requested shutdown, not "killed by signal"


BAD_REQUEST_BODY = (
    b'{"error":{"message":"the request is not valid HTTP/1.1 (the server could not parse it)",'
    b'"type":"invalid_request_error","param":null,"code":"invalid_http"}}'
)


def _json_400(protocol: Any) -> None:
    """uvicorn's answer to a request it cannot parse, as OpenAI's error JSON instead of plain text."""
    head = [b"HTTP/1.1 400 Bad Request\r\n"]
    head += [name + b": " + value + b"\r\n" for name, value in protocol.server_state.default_headers]
    head += [
        b"content-type: application/json\r\n",
        b"content-length: " + str(len(BAD_REQUEST_BODY)).encode("ascii") + b"\r\n",
        b"connection: close\r\n\r\n",
    ]
    protocol.transport.write(b"".join(head) + BAD_REQUEST_BODY)
    protocol.transport.close()


class JSONHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; malformed requests get OpenAI's error JSON (the only reply before the app)."""

    def send_400_response(self, msg: str) -> None:
        _json_400(self)


class JSONH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the same JSON 400."""

    def send_400_response(self, msg: str) -> None:
        _json_400(self)


def http_protocol() -> type:
    """The protocol class uvicorn's ``http="auto"`` would pick, with the JSON 400 (httptools if installed)."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return JSONH11Protocol
    return JSONHttpToolsProtocol


def _uvicorn_options(args: argparse.Namespace, grace: float) -> dict[str, Any]:
    return {
        "http": http_protocol(),
        "host": args.host,
        "port": args.port,
        "timeout_graceful_shutdown": int(grace),
        "access_log": args.access_log,
        "log_level": args.log_level,
        "lifespan": "on",
        **({"log_config": uvicorn_log_config(args.log_level)} if args.log_format == "json" else {}),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vertexlate serve", description="OpenAI-compatible proxy over Vertex AI."
    )
    parser.add_argument("--config", required=True, help="LiteLLM-style config.yaml")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4000)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (limits and cooldowns are shared only through Redis: router_settings.redis_host)",
    )
    parser.add_argument(
        "--graceful-timeout", type=float, default=None, help="seconds to finish requests on shutdown"
    )
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    parser.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="json: one JSON object per line, with the request id, secrets masked",
    )
    parser.add_argument(
        "--server",
        default="uvicorn",
        choices=["uvicorn", "granian"],
        help="ASGI server (granian must be installed; measured no faster here, see bench/proxy_bench.py --compare)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Validate the config, then serve until SIGINT/SIGTERM; 2 on a config error."""
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.log_format == "json":  # before the config is read, so its warnings are JSON lines too
        logging.config.dictConfig(uvicorn_log_config(args.log_level))
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"vertexlate serve: {exc}", file=sys.stderr)
        return 2
    try:
        gc_thresholds()  # here, once: not in every worker a bad value would then crash
    except ValueError as exc:
        print(f"vertexlate serve: {exc}", file=sys.stderr)
        return 2
    if config.database_url is not None:  # a database that cannot be reached or migrated stops the start here
        from engine.proxy.store.db import DatabaseError
        from engine.proxy.store.migrate import MigrationError
        from engine.proxy.store.service import prepare

        try:
            asyncio.run(prepare(config.database_url, config.path.parent))
        except (DatabaseError, MigrationError) as exc:
            print(f"vertexlate serve: database: {exc}", file=sys.stderr)
            return 2
    grace = args.graceful_timeout if args.graceful_timeout is not None else config.graceful_shutdown_timeout
    server = args.server
    warn_per_worker(config, args.workers)
    banner = (
        f"vertexlate proxy ({server}): {len(config.deployments)} deployments of {', '.join(config.groups)} "
        f"on http://{args.host}:{args.port}"
    )
    if args.log_format == "json":
        log.warning("%s", banner)
    else:
        print(banner, file=sys.stderr)
    if prepare_workers(args.workers):  # the workers' metrics go to files /metrics sums up
        log.info("metrics: multiprocess mode in %s", os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if server == "granian":
        return _granian(args, grace)
    if args.workers > 1:
        _export(args, grace)
        uvicorn.run(
            "engine.proxy.app:app_from_env",
            factory=True,
            workers=args.workers,
            **_uvicorn_options(args, grace),
        )
        return 0
    app = create_app(config)
    app.proxy.grace = grace
    freeze_heap()
    ProxyServer(uvicorn.Config(app, **_uvicorn_options(args, grace)), app.proxy).run()
    return 0


def warn_per_worker(config: ProxyConfig, workers: int) -> list[str]:
    """Several workers without Redis each keep their own limits: say so at start-up (and return what was said)."""
    said = []
    if workers > 1 and config.redis is None:
        said.append(
            f"--workers {workers} without Redis: rpm/tpm/parallel limits and cooldowns are kept per worker "
            f"(up to {workers} times each limit); set router_settings.redis_host or REDIS_URL to share them"
        )
    if workers > 1 and config.cache is not None and config.cache.type == "local":
        said.append(f"--workers {workers}: cache_params.type local keeps one cache per worker")
    for message in said:
        log.warning("%s", message)
    return said


def _export(args: argparse.Namespace, grace: float) -> None:
    """Worker processes build their app from these (the config was already validated here)."""
    os.environ[CONFIG_ENV] = os.path.abspath(args.config)
    os.environ[GRACE_ENV] = str(grace)


def _granian(args: argparse.Namespace, grace: float) -> int:
    """Serve with granian: ASGI, one event loop per worker process; drains through the ASGI lifespan."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    _export(args, grace)
    Granian(
        "engine.proxy.app:app_from_env",
        factory=True,
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
        log_level=LogLevels(args.log_level),
        log_access=args.access_log,
        workers_kill_timeout=int(grace) + 5,
    ).serve()
    return 0


class BackgroundProxy:
    """The proxy on 127.0.0.1 in a background thread (tests, benchmarks); a context manager."""

    def __init__(
        self,
        config: ProxyConfig,
        grace: float = 2.0,
        clock: Callable[[], float] | None = None,
        **uvicorn_options: Any,
    ) -> None:
        self.app = create_app(config, clock)
        self.proxy: Proxy = self.app.proxy
        self.proxy.grace = self.grace = grace
        self.options = uvicorn_options
        self.port = 0
        self._server: ProxyServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BackgroundProxy:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        options = {
            "http": http_protocol(),
            "log_level": "warning",
            "access_log": False,
            "lifespan": "on",
            **self.options,
        }
        config = uvicorn.Config(self.app, timeout_graceful_shutdown=int(self.grace), **options)
        self._server = ProxyServer(config, self.proxy)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"vertexlate-proxy-{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the proxy failed to start")
            time.sleep(0.005)
        return self

    def shutdown(self, wait: bool = True) -> None:
        """Begin a graceful shutdown, as SIGTERM would; with ``wait``, join the server thread."""
        if self._server is not None:
            self._server.handle_exit(15, None)
        if wait and self._thread is not None:
            self._thread.join(timeout=self.grace + 10)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None and self._thread.is_alive():
            self.shutdown()
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> BackgroundProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
