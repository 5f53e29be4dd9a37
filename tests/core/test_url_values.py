"""Values that reach upstream URLs: checked against their documented form, percent-encoded by default.

Issue 11: ``GET /v1/files/gs://bkt%3FuserProject=x%26alt=media%23/o`` reached Cloud Storage as
``/storage/v1/b/bkt?userProject=x&alt=media``, and ``..`` ids climbed the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.api import prepare
from engine.compiler import Problems, compile_template
from engine.errors import BadRequestError
from engine.url_template import Safe, encode_path, encode_segment
from tests.credentials import StaticToken

BASE = {
    "model": "vertex_ai/",
    "vertex_credentials": StaticToken(),
    "vertex_project": "my-project",
    "vertex_location": "us-central1",
}
STORAGE = {**BASE, "storage_api_base": "http://127.0.0.1:9"}


def url_of(operation: str, **kwargs: Any) -> str:
    return prepare(operation, {**BASE, **kwargs}).url


def template(source: str) -> Any:
    compiled = compile_template(source, ["url"], Problems(Path(__file__)), url=True)
    assert compiled is not None
    return compiled


# --------------------------------------------------------------------------- the template language


def test_substituted_values_are_encoded_as_one_segment() -> None:
    t = template("https://h/v1/{{ a }}/x?q={{ b }}")
    assert t.render({"a": "a/b?c#d e", "b": "x&y=1"}) == "https://h/v1/a%2Fb%3Fc%23d%20e/x?q=x%26y%3D1"
    assert (
        t.render({"a": "claude-sonnet-4@20250514", "b": 20}) == "https://h/v1/claude-sonnet-4@20250514/x?q=20"
    )


def test_literal_text_and_rendered_pieces_are_inserted_as_they_are() -> None:
    t = template("{{ prefix }}/{% if x %}https://{{ x }}{% endif %}")
    assert t.render({"prefix": Safe("https://h/v1/p"), "x": "a:b"}) == "https://h/v1/p/https://a%3Ab"


@pytest.mark.parametrize("value", [".", ".."])
def test_a_dot_segment_is_refused(value: str) -> None:
    with pytest.raises(BadRequestError, match="may not be"):
        template("https://h/jobs/{{ id }}").render({"id": value})


def test_path_filter_encodes_each_segment_and_refuses_climbing() -> None:
    t = template("https://h/o/{{ name | path }}")
    assert t.render({"name": "a b/c?d/e@f"}) == "https://h/o/a%20b/c%3Fd/e@f"
    for bad in ("a/../b", "./a", "a//b", "a/"):
        with pytest.raises(BadRequestError, match="segments"):
            t.render({"name": bad})
    assert encode_path("x/y") == "x/y" and isinstance(encode_path("x"), Safe)


def test_raw_filter_is_the_explicit_opt_out() -> None:
    assert (
        template("{{ base | raw }}/v1").render({"base": "http://127.0.0.1:9/x"}) == "http://127.0.0.1:9/x/v1"
    )
    assert encode_segment(Safe("a/b")) == "a/b"


# --------------------------------------------------------------------------- resource ids


@pytest.mark.parametrize(
    "file_id",
    [
        "gs://bkt?userProject=x&alt=media#/o",  # the proxy's decoded gs://bkt%3FuserProject=x%26alt=media%23/o
        "gs://../o",
        "gs://bkt/..",
        "gs://bkt/.",
        "gs://BKT/o",
        "gs://bkt",
        "gs://b/o",  # a bucket name has at least 3 characters
        "gs://bkt/a\r\nHost: evil",
    ],
)
def test_malformed_file_ids_are_refused_naming_the_parameter(file_id: str) -> None:
    for operation in ("retrieve_file", "file_content"):
        with pytest.raises(BadRequestError) as info:
            prepare(operation, {**STORAGE, "file_id": file_id})
        assert info.value.param == "file_id"
        assert "file_id must be a gs://<bucket>/<object> URI" in info.value.message


def test_object_names_are_one_encoded_segment() -> None:
    call = prepare("retrieve_file", {**STORAGE, "file_id": "gs://my-bucket.v2/a/b?c=1&d#e/../f"})
    assert call.url == "http://127.0.0.1:9/storage/v1/b/my-bucket.v2/o/a%2Fb%3Fc%3D1%26d%23e%2F..%2Ff"
    listing = prepare("file_content", {**STORAGE, "file_id": "gs://bkt/out dir/x"})
    parts = urlsplit(listing.url)
    assert parts.path == "/storage/v1/b/bkt/o" and parts.query == "prefix=out%20dir%2Fx"


def test_bucket_and_folder_of_an_upload_are_checked_and_encoded() -> None:
    for bucket in ("bkt/../x", "Bkt", "bkt?alt=media", "a..b"):
        with pytest.raises(BadRequestError) as info:
            prepare(
                "create_file", {**STORAGE, "file": b"x", "purpose": "fine-tune", "gcs_bucket_name": bucket}
            )
        assert info.value.param == "gcs_bucket_name" and "Cloud Storage bucket name" in info.value.message
    call = prepare(
        "create_file",
        {**STORAGE, "file": b"x", "purpose": "fine-tune", "gcs_bucket_name": "bkt", "gcs_folder": "a&b=c"},
    )
    path, query = urlsplit(call.url).path, urlsplit(call.url).query
    assert path == "/upload/storage/v1/b/bkt/o"
    assert query.startswith("uploadType=media&name=a%26b%3Dc%2F")


def test_storage_api_base_must_be_a_base_url() -> None:
    with pytest.raises(BadRequestError) as info:
        prepare("retrieve_file", {**BASE, "file_id": "gs://bkt/o", "storage_api_base": "http://h/x?y#"})
    assert info.value.param == "storage_api_base"


@pytest.mark.parametrize(
    ("operation", "param"),
    [
        ("retrieve_batch", "batch_id"),
        ("cancel_batch", "batch_id"),
        ("retrieve_fine_tuning_job", "fine_tuning_job_id"),
        ("cancel_fine_tuning_job", "fine_tuning_job_id"),
        ("retrieve_cached_content", "cached_content_id"),
        ("delete_cached_content", "cached_content_id"),
    ],
)
@pytest.mark.parametrize("value", ["..", "%2e%2e", "123?alt=media", "123#x", "123:cancel", "1/../../x", ""])
def test_job_and_cache_ids_must_have_their_documented_form(operation: str, param: str, value: str) -> None:
    with pytest.raises(BadRequestError) as info:
        url_of(operation, **{param: value})
    assert info.value.param == param


@pytest.mark.parametrize(
    ("operation", "param", "collection"),
    [
        ("retrieve_batch", "batch_id", "batchPredictionJobs"),
        ("retrieve_fine_tuning_job", "fine_tuning_job_id", "tuningJobs"),
        ("retrieve_cached_content", "cached_content_id", "cachedContents"),
    ],
)
def test_ids_and_resource_names_reach_the_documented_url(operation: str, param: str, collection: str) -> None:
    want = f"https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/us-central1/{collection}/42"
    assert url_of(operation, **{param: "42"}) == want
    full = f"projects/my-project/locations/us-central1/{collection}/42"
    assert url_of(operation, **{param: full}) == want


def test_page_tokens_cannot_add_query_parameters(emulator: Any, vx: dict[str, Any]) -> None:
    """Asserted on what reaches the emulator: the token stays one query value."""
    engine.list_batches(after="tok&pageSize=1000#frag", limit=5, **vx)
    logged = [r for r in emulator.requests() if r["path"].endswith("/batchPredictionJobs")][-1]
    assert logged["query"] == {"pageSize": "5", "pageToken": "tok&pageSize=1000#frag"}


def test_a_refused_id_never_reaches_the_emulator(emulator: Any, vx: dict[str, Any]) -> None:
    with pytest.raises(BadRequestError):
        engine.retrieve_batch("../../../cachedContents", **vx)
    with pytest.raises(BadRequestError):
        engine.cancel_fine_tuning_job("1:cancel", **vx)
    assert emulator.requests() == []


def test_a_valid_id_reaches_the_emulator_at_its_path(emulator: Any, vx: dict[str, Any]) -> None:
    with pytest.raises(engine.NotFoundError):
        engine.retrieve_batch("1234567", **vx)
    logged = emulator.requests()[-1]
    assert logged["path"] == "/v1/projects/emulator-project/locations/us-central1/batchPredictionJobs/1234567"


# --------------------------------------------------------------------------- property: no value changes a URL's shape


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40).filter(
        lambda v: v not in (".", "..")
    )
)
def test_any_value_stays_one_segment_and_decodes_back(value: str) -> None:
    url = template("https://h/v1/{{ a }}/tail?x={{ b }}&y=1").render({"a": value, "b": value})
    parts = urlsplit(url)
    assert parts.netloc == "h" and parts.fragment == ""
    segments = parts.path.split("/")
    assert len(segments) == 4 and segments[3] == "tail" and unquote(segments[2]) == value
    assert parts.query.split("&")[1] == "y=1" and unquote(parts.query.split("&")[0][2:]) == value
