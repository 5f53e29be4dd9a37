"""HTTP proxies from the environment: honoured by the async transport, or refused with a clear message.

Everything stays on loopback: a recording forward proxy for ``HTTP_PROXY`` (absolute-form
requests), a ``CONNECT`` proxy in front of a TLS server whose certificate a test CA
signed for ``127.0.0.1`` for ``HTTPS_PROXY`` (the client verifies it through
``SSL_CERT_FILE``), and a socks URL, which the transport does not speak.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import engine

MODEL = "vertex_ai/gemini-2.5-flash"
HELLO = [{"role": "user", "content": "Hello"}]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gemini"
BODY = json.dumps(json.loads((FIXTURES / "generate_content_text.json").read_text())["body"]).encode()
REPLY = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(v)
            for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
            if k.lower() == b"content-length"
        ),
        0,
    )
    while len(rest) < length:
        rest += conn.recv(65536)
    return head


class Server:
    """A thread accepting loopback connections and handing each to ``handle``; ``seen`` records request heads."""

    def __init__(self, handle: Any, tls: ssl.SSLContext | None = None) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.tls = tls
        self.handle = handle
        self.seen: list[bytes] = []
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            self.handle(self, conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


def answer(server: Server, conn: socket.socket) -> None:
    """An upstream (or a forward proxy that answers itself): record each request, reply with Gemini JSON."""
    while head := _read_request(conn):
        server.seen.append(head)
        conn.sendall(REPLY)


def tunnel(server: Server, conn: socket.socket) -> None:
    """A CONNECT proxy: record the request, open the tunnel, pipe bytes both ways."""
    head = _read_request(conn)
    server.seen.append(head)
    target = head.split(b" ")[1].decode()
    host, _, port = target.rpartition(":")
    upstream = socket.create_connection((host, int(port)))
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

    def pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            b.close()

    threading.Thread(target=pipe, args=(upstream, conn), daemon=True).start()
    pipe(conn, upstream)


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate it signed for IP 127.0.0.1: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vertexlate test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture
def tls_upstream(tls_files: tuple[Path, Path, Path]) -> Iterator[Server]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_files[1], tls_files[2])
    server = Server(answer, tls=context)
    yield server
    server.close()


@pytest.fixture
def options(vx: dict[str, Any]) -> dict[str, Any]:
    """The emulator's options, with the token already cached (the token request is not what is tested)."""
    engine.completion(model=MODEL, messages=HELLO, **vx)
    return vx


def acall(**kwargs: Any) -> Any:
    return asyncio.run(engine.acompletion(model=MODEL, messages=HELLO, num_retries=0, **kwargs))


def _clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_http_proxy_gets_absolute_form_requests_with_credentials(
    options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Server(answer)
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", f"http://user:p%40ss@127.0.0.1:{proxy.port}")
    try:
        reply = acall(**options)
    finally:
        proxy.close()
    assert reply.choices[0].message.content
    head = proxy.seen[0].decode()
    assert head.startswith(f"POST {options['api_base']}/v1/projects/")
    assert "proxy-authorization: Basic dXNlcjpwQHNz" in head  # user:p@ss


def test_https_proxy_tunnels_with_connect_and_verifies_the_upstream(
    options: dict[str, Any],
    tls_upstream: Server,
    tls_files: tuple[Path, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = Server(tunnel)
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files[0]))
    try:
        reply = acall(**{**options, "api_base": f"https://127.0.0.1:{tls_upstream.port}"})
    finally:
        proxy.close()
    assert reply.choices[0].message.content
    assert proxy.seen[0].startswith(f"CONNECT 127.0.0.1:{tls_upstream.port} HTTP/1.1".encode())
    assert tls_upstream.seen[0].startswith(b"POST /v1/projects/")


def test_an_unverifiable_certificate_is_refused(
    options: dict[str, Any], tls_upstream: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_proxy_env(monkeypatch)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(engine.APIConnectionError, match="TLS handshake with 127.0.0.1 failed"):
        acall(**{**options, "api_base": f"https://127.0.0.1:{tls_upstream.port}"})
    assert tls_upstream.seen == []


def test_a_socks_proxy_is_refused_with_a_clear_message(
    options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(engine.APIConnectionError, match="socks5://.* is not supported.*NO_PROXY"):
        acall(**options)


def test_no_proxy_bypasses_the_proxy(options: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert acall(**options).choices[0].message.content


def test_a_proxy_that_refuses_connect_is_named(
    options: dict[str, Any], tls_upstream: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(server: Server, conn: socket.socket) -> None:
        server.seen.append(_read_request(conn))
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")

    proxy = Server(refuse)
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    try:
        with pytest.raises(
            engine.APIConnectionError, match="proxy refused CONNECT 127.0.0.1:.*403 Forbidden"
        ):
            acall(**{**options, "api_base": f"https://127.0.0.1:{tls_upstream.port}"})
    finally:
        proxy.close()
