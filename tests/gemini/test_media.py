"""Multimodal content parts → Gemini ``fileData``/``inlineData`` (Part, FileData, Blob in the discovery document).

Inputs are the seed's examples (vision URL, PDF by gs:// and base64, audio) and OpenAI's
part shapes; the golden body for two gs:// files is Google's batch-prediction sample
(tests/fixtures/gemini/request_file_data.json). Fetch-and-inline runs against a local
HTTP server on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import engine
from engine.errors import BadRequestError
from engine.registry import default_registry
from tests.fixtures.load import load
from tests.gemini.helpers import body

PDF_B64 = base64.b64encode(b"%PDF-1.4\n%stand-in document\n").decode()
MP3_B64 = base64.b64encode(b"ID3\x04\x00\x00\x00\x00\x00\x00stand-in audio").decode()
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
SUMMARIZE = (
    "You are a very professional document summarization specialist. Please summarize the given document."
)


def user_parts(*parts: dict[str, Any], model: str = "gemini-2.5-flash") -> list[dict[str, Any]]:
    got = body(model, messages=[{"role": "user", "content": list(parts)}])
    (turn,) = got["contents"]
    return turn["parts"]


def test_google_sample_with_gs_video_and_image() -> None:
    fixture = load("gemini/request_file_data.json")["body"]
    text, video, image = fixture["contents"][0]["parts"]
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": text["text"]},
                {"type": "image_url", "image_url": {"url": video["fileData"]["fileUri"]}},
                {"type": "image_url", "image_url": image["fileData"]["fileUri"]},
            ],
        }
    ]
    assert body(messages=messages) == fixture


def test_seed_vision_example_https_image() -> None:
    url = "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"
    parts = user_parts(
        {"type": "text", "text": "Whats in this image?"},
        {"type": "image_url", "image_url": {"url": url}},
        model="gemini-pro-vision",
    )
    assert parts == [
        {"text": "Whats in this image?"},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": url}},
    ]


def test_seed_video_by_https_url() -> None:
    url = "https://storage.googleapis.com/github-repo/img/gemini/multimodality_usecases_overview/pixel8.mp4"
    assert user_parts({"type": "image_url", "image_url": {"url": url}}) == [
        {"fileData": {"mimeType": "video/mp4", "fileUri": url}}
    ]


def test_seed_pdf_by_gs_uri_with_format() -> None:
    uri = "gs://cloud-samples-data/generative-ai/pdf/2403.05530.pdf"
    parts = user_parts(
        {"type": "text", "text": SUMMARIZE},
        {"type": "file", "file": {"file_id": uri, "format": "application/pdf"}},
    )
    assert parts == [{"text": SUMMARIZE}, {"fileData": {"mimeType": "application/pdf", "fileUri": uri}}]


def test_seed_pdf_and_audio_as_base64() -> None:
    parts = user_parts(
        {"type": "text", "text": SUMMARIZE},
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF_B64}"}},
        {"type": "audio_input", "audio_input": {"audio_input": f"data:audio/mp3;base64,{MP3_B64}"}},
    )
    assert parts == [
        {"text": SUMMARIZE},
        {"inlineData": {"mimeType": "application/pdf", "data": PDF_B64}},
        {"inlineData": {"mimeType": "audio/mp3", "data": MP3_B64}},
    ]


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        (
            {"type": "input_audio", "input_audio": {"data": MP3_B64, "format": "mp3"}},
            {"inlineData": {"mimeType": "audio/mp3", "data": MP3_B64}},
        ),
        (
            {"type": "input_audio", "input_audio": {"data": MP3_B64, "format": "wav"}},
            {"inlineData": {"mimeType": "audio/wav", "data": MP3_B64}},
        ),
        (
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PDF_B64}"}},
            {"inlineData": {"mimeType": "image/png", "data": PDF_B64}},
        ),
        (
            {"type": "image_url", "image_url": {"url": "gs://b/photo", "format": "image/webp"}},
            {"fileData": {"mimeType": "image/webp", "fileUri": "gs://b/photo"}},
        ),
        (
            {"type": "file", "file": {"file_id": "https://example.com/doc.PDF"}},
            {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/doc.PDF"}},
        ),
        (
            {"type": "file", "file": {"file_id": "gs://b/report", "filename": "report.txt"}},
            {"fileData": {"mimeType": "text/plain", "fileUri": "gs://b/report"}},
        ),
        (
            {"type": "video_url", "video_url": {"url": "gs://b/clip.mov"}},
            {"fileData": {"mimeType": "video/mov", "fileUri": "gs://b/clip.mov"}},
        ),
        (
            {"type": "image_url", "image_url": {"url": "gs://b/a.heic", "detail": "high"}},
            {"fileData": {"mimeType": "image/heic", "fileUri": "gs://b/a.heic"}},
        ),
    ],
)
def test_part_shapes(part: dict[str, Any], expected: dict[str, Any]) -> None:
    assert user_parts(part) == [expected]


@pytest.mark.parametrize(
    ("part", "needle"),
    [
        (
            {"type": "image_url", "image_url": {"url": "https://example.com/image?id=3"}},
            "pass it as 'format'",
        ),
        ({"type": "file", "file": {"file_id": "gs://bucket/blob"}}, "pass it as 'format'"),
        (
            {"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}},
            "unsupported URL scheme 'ftp'",
        ),
        (
            {"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}},
            "data:<mime type>;base64,<data>",
        ),
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}, "not valid base64"),
        ({"type": "file", "file": {"file_id": "file-abc123"}}, "file_id must be a gs:// or https:// URI"),
        ({"type": "input_audio", "input_audio": {"data": MP3_B64}}, "needs a 'format'"),
        ({"type": "image_url"}, "needs a URL"),
    ],
)
def test_unclear_media_are_clear_errors(part: dict[str, Any], needle: str) -> None:
    with pytest.raises(BadRequestError) as info:
        user_parts(part)
    assert needle in info.value.message


def test_inline_payload_over_the_limit_is_refused_before_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = default_registry().resolve("gemini-2.5-flash", "chat").entry
    monkeypatch.setitem(entry.capabilities, "max_inline_bytes", 40)
    part = {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF_B64}"}}
    assert user_parts(part)  # 28 bytes fit
    with pytest.raises(BadRequestError, match="add up to 56 bytes, over the limit of 40 bytes that"):
        user_parts(part, part)


# --------------------------------------------------------------------------- fetch and inline


class _Files(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/pixel")
            self.end_headers()
            return
        if self.path == "/big":
            payload, kind = b"x" * 4096, "application/octet-stream"
        elif self.path == "/pixel":
            payload, kind = PNG, "image/png"
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def files() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def fetching(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "fetch_media_urls", True, raising=False)
    monkeypatch.setattr(engine, "media_fetch_allow_private", True, raising=False)


def test_fetch_and_inline_when_switched_on(files: str, fetching: None) -> None:
    expected = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}}
    assert user_parts({"type": "image_url", "image_url": {"url": f"{files}/pixel"}}) == [expected]
    assert user_parts({"type": "image_url", "image_url": {"url": f"{files}/redirect"}}) == [expected]


def test_fetch_refuses_loopback_unless_allowed(
    files: str, fetching: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "media_fetch_allow_private", False)
    with pytest.raises(BadRequestError, match="non-public address 127.0.0.1"):
        user_parts({"type": "image_url", "image_url": {"url": f"{files}/pixel"}})


@pytest.mark.parametrize(
    ("path", "needle"), [("/big", "larger than the 1024-byte limit"), ("/missing", "answered HTTP 404")]
)
def test_fetch_limits_and_failures(
    files: str, fetching: None, monkeypatch: pytest.MonkeyPatch, path: str, needle: str
) -> None:
    monkeypatch.setattr(engine, "media_fetch_max_bytes", 1024, raising=False)
    with pytest.raises(BadRequestError) as info:
        user_parts({"type": "image_url", "image_url": {"url": f"{files}{path}"}})
    assert needle in info.value.message


def test_without_fetching_an_http_url_stays_a_file_uri(files: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        engine, "media_fetch_allow_private", True
    )  # a loopback URL is forwarded only if allowed
    assert user_parts({"type": "image_url", "image_url": {"url": f"{files}/pixel.png"}}) == [
        {"fileData": {"mimeType": "image/png", "fileUri": f"{files}/pixel.png"}}
    ]
