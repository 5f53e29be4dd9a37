"""Running the emulator: in-process for tests (:class:`Emulator`) or as a CLI (:func:`main`).

Why bind the socket ourselves: with ``port=0`` the OS picks a free port before
uvicorn starts, so the URL is known up front and no port race exists between
parallel test workers.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

from engine.emulator.app import create_app
from engine.emulator.credentials import issue_service_account
from engine.emulator.state import DEFAULT_PROJECT, EmulatorState

START_TIMEOUT_SECONDS = 10.0


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn server that reports readiness and exits 0 after SIGINT/SIGTERM.

    Why: uvicorn re-raises a captured signal after its graceful shutdown, which
    would make the CLI die "by signal" instead of returning 0.
    """

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def _config(state: EmulatorState) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(state),
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=1,
        timeout_keep_alive=5,
    )


class Emulator:
    """The emulator on 127.0.0.1 in a background thread; use as a context manager."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state: EmulatorState | None = None,
        job_step_seconds: float = 0.2,
        accept_any_model: bool = False,
        storage_url: str | None = None,
        strict: bool = False,
    ) -> None:
        """``strict``: refuse non-canonical proto3 JSON spellings (snake_case names, integer enums);
        ``accept_any_model``: answer publisher models outside the catalogue; ``storage_url``: an external
        Cloud Storage for batch input and output (default: the built-in one)."""
        self.host = host
        self.port = port
        self.state = (
            state
            if state is not None
            else EmulatorState(
                job_step_seconds=job_step_seconds,
                strict=strict,
                accept_any_model=accept_any_model,
                storage_url=storage_url,
            )
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Emulator:
        """Start serving; returns once the server accepts requests."""
        self._socket = _bind(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        self._server = _Server(_config(self.state))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"vertex-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("Vertex AI emulator failed to start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and release the thread and the port."""
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def issue_service_account(self, project_id: str = DEFAULT_PROJECT) -> dict[str, Any]:
        """A service-account key file whose ``token_uri`` is this emulator's ``/token``."""
        return issue_service_account(self.state, self.url, project_id)

    def issue_api_key(self) -> str:
        """An API key the emulator accepts (``x-goog-api-key`` or ``?key=``), as an express-mode key (``POST /emulator/api-keys``)."""
        return self.state.issue_api_key()

    def script(self, model: str, responses: list[dict[str, Any]]) -> None:
        """Queue the next responses for ``model`` (see ``POST /emulator/script``)."""
        self.state.push_script(model, responses)

    def requests(self, model: str | None = None) -> list[dict[str, Any]]:
        """The request log, optionally for one model."""
        return self.state.requests(model)

    def mark_unknown(self, *models: str) -> None:
        """Make these models answer 404 NOT_FOUND."""
        self.state.mark_unknown(list(models))

    def accept_models(self, *models: str) -> None:
        """Serve these model ids although the catalogue does not list them (until :meth:`reset`)."""
        self.state.accept_models(list(models))

    def advance(self, seconds: float) -> None:
        """Move the job clock forward (see ``POST /emulator/advance``)."""
        self.state.advance(seconds)

    def reset(self) -> None:
        """Forget scripts, log, unknown and accepted models, resources and stored objects (credentials stay)."""
        self.state.reset()


def main(argv: list[str] | None = None) -> int:
    """``vertexlate emulator``: serve until SIGINT/SIGTERM, then exit 0."""
    parser = argparse.ArgumentParser(prog="vertexlate emulator", description="Local Vertex AI emulator.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    parser.add_argument("--job-step", type=float, default=0.2, help="seconds per job state transition")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse non-canonical proto3 JSON spellings (snake_case field names, integer enums) with a 400",
    )
    parser.add_argument(
        "--accept-any-model",
        action="store_true",
        help="answer any publisher model name (default: only the emulator's catalogue; others get Vertex's 404)",
    )
    parser.add_argument(
        "--storage-url",
        default=None,
        help="Cloud Storage JSON API base URL (e.g. a gcp-storage-emulator) for batch input and output; "
        "default: the emulator's built-in in-memory Cloud Storage at its own URL",
    )
    args = parser.parse_args(argv)
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr, flush=True)
        return 1
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{sock.getsockname()[1]}"

    def ready() -> None:
        print(f"Vertex AI emulator listening on {url}", flush=True)
        where = args.storage_url or f"{url} (built-in, in memory)"
        print(f"Cloud Storage: {where}", flush=True)

    state = EmulatorState(
        job_step_seconds=args.job_step,
        strict=args.strict,
        accept_any_model=args.accept_any_model,
        storage_url=args.storage_url,
    )
    server = _Server(_config(state), on_ready=ready)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
