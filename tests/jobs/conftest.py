"""A real Cloud Storage emulator (gcp-storage-emulator, in memory) on a free loopback port.

The files tests upload through the Cloud Storage JSON API exactly as against
storage.googleapis.com, then read the objects back to check what was stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

BUCKET = "litellm-testing-bucket"  # the seed's bucket name


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[str]:
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", 0, in_memory=True, default_bucket=BUCKET)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._api._httpd.server_port}"  # port 0: the OS picked it
    finally:
        server.stop()


@pytest.fixture
def gcs(gcs_server: str, vx: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for create_file: the storage emulator, the bucket and the emulator-issued credentials."""
    return {
        "storage_api_base": gcs_server,
        "gcs_bucket_name": BUCKET,
        "vertex_credentials": vx["vertex_credentials"],
    }
