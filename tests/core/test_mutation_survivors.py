"""Tests for the Python mutants the suite let through (tools/mutation.py --python, README "Mutation
testing"): each names the change it fails on."""

from __future__ import annotations

import httpx
import pytest

from engine import aio


async def test_a_failed_reply_nobody_waits_on_keeps_its_first_error() -> None:
    """``Reply.fail`` with no reader waiting (aio.py ``wakeup is not None and ...`` -> ``or``: crashed)."""
    reply = aio.Reply(None, stream=True)  # type: ignore[arg-type]
    reply._chunks.append(b"part")
    reply.fail(httpx.ReadError("gone"))
    reply.fail(httpx.ReadError("second"))  # a later break does not replace the first
    seen = []
    with pytest.raises(httpx.ReadError, match="gone"):
        async for chunk in reply.aiter_bytes():
            seen.append(chunk)
    assert seen == [b"part"]  # what arrived before the break is still delivered


def test_the_assembled_stream_keeps_the_upstream_id_and_text() -> None:
    """``ChatStream.assembled`` (what stream finalize checks read): response.py ``self.id or new_id()``
    -> ``and`` replaced the upstream id by a fresh one and left an id-less stream without any."""
    from engine.compiler import ResponseSpec
    from engine.response import ChatStream

    stream = ChatStream({}, ResponseSpec(), None, "m", include_usage=False)
    stream.id = "msg_upstream"
    stream.text = {0: ["Hel", "lo"], 1: ["second"]}
    whole = stream.assembled()
    assert whole.id == "msg_upstream"
    assert [c.message.content for c in whole.choices] == ["Hello", "second"]
    stream.id = None
    fresh = stream.assembled().id
    assert isinstance(fresh, str) and fresh.startswith("chatcmpl-") and len(fresh) > len("chatcmpl-")


def test_sum_with_two_arguments_is_the_references_arity_error() -> None:
    """jmes.py's ``sum`` fast path is for one argument (``len(args) == 1`` -> ``== 2`` crashed with a
    ValueError on ``sum(a, b)`` instead of JMESPath's ArityError)."""
    import jmespath
    from jmespath.exceptions import ArityError

    from engine.jmes import compile_expression

    data = {"a": [1, 2], "b": [3]}
    with pytest.raises(ArityError):
        jmespath.search("sum(a, b)", data)
    with pytest.raises(ArityError):
        compile_expression("sum(a, b)")(data)
    assert compile_expression("sum(a)")(data) == 3


def _nested(levels: int, kind: str) -> object:
    value: object = {} if kind == "dict" else []
    for _ in range(levels - 1):
        value = {"k": value} if kind == "dict" else [value]
    return value


@pytest.mark.parametrize("kind", ["dict", "list", "mixed"])
def test_nesting_limit_is_exact_for_objects_and_lists(kind: str) -> None:
    """``MAX_DEPTH`` levels are accepted, one more refused, whatever the containers (options.py
    ``_too_deep(..., budget - 1)`` -> ``budget - 2`` let objects nest twice as deep)."""
    from engine.errors import BadRequestError
    from engine.options import MAX_DEPTH, check_nesting

    assert MAX_DEPTH == 100  # protobuf's default recursion limit

    def build(levels: int) -> object:
        if kind != "mixed":
            return _nested(levels, kind)
        value: object = {}
        for i in range(levels - 1):
            value = {"k": value} if i % 2 else [value]
        return value

    check_nesting("tools", build(MAX_DEPTH))
    with pytest.raises(BadRequestError, match="nested more than 100 levels"):
        check_nesting("tools", build(MAX_DEPTH + 1))


def test_cli_usage_and_exit_codes_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    """cli.py's dispatch: no command or ``--help`` prints the usage and exits 0, an unknown command
    exits 2 (``... or argv[0] not in COMMANDS`` -> ``and`` raised a KeyError instead)."""
    from engine import cli

    for argv, code in (([], 0), (["-h"], 0), (["--help"], 0), (["frobnicate"], 2)):
        assert cli.main(argv) == code, argv
        out = capsys.readouterr().out
        assert out.startswith("usage: vertexlate <command>") and "  serve " in out


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_token_refresh_does_not_use_up_a_retry(vx: dict, emulator: object, mode: str) -> None:
    """A 401 answered by a fresh token is not a retry (api.py ``attempt += 0 if step.refresh else 1``
    -> ``1 if ...``): with ``num_retries=1`` the 429 after the refresh is still retried."""
    import engine

    hello = [{"role": "user", "content": "hi"}]
    engine.completion(model="vertex_ai/gemini-2.5-flash", messages=hello, **vx)  # a token is cached
    emulator.state.tokens.clear()  # ... and no longer accepted: the next call gets a 401 first
    emulator.script("gemini-2.5-flash", [{"status": 429, "retry_after": 0}, {"text": "after the 429"}])
    kwargs = {"model": "vertex_ai/gemini-2.5-flash", "messages": hello, "num_retries": 1, **vx}
    reply = await engine.acompletion(**kwargs) if mode == "async" else engine.completion(**kwargs)
    assert reply.choices[0].message.content == "after the 429"
    generate = [r for r in emulator.requests() if r["path"].endswith(":generateContent")]
    assert len(generate) == 4  # the first call, the 401, the 429, the answer


def test_unsigned_integer_ranges_start_at_zero() -> None:
    """google_schema's proto ranges: uint32/uint64 accept 0 and refuse -1 (``(0, 2**32 - 1)`` -> ``(1, ...)``
    refused a valid 0); 64-bit values keep their string form (proto3 JSON)."""
    from engine.google_schema import _integer, _Invalid

    for kind, top in (("uint32", 2**32 - 1), ("uint64", 2**64 - 1)):
        check = _integer(kind, None, None)
        assert check(0, "f") == 0
        assert check(top, "f") == top
        for outside in (-1, top + 1):
            with pytest.raises(_Invalid, match=f"outside the {kind} range"):
                check(outside, "f")
    assert _integer("uint64", None, None)(" 0 ", "f") == "0"
    assert _integer("uint32", None, None)("0", "f") == 0


def test_response_schema_keeps_the_declared_property_order(vx: dict, emulator: object) -> None:
    """A model with ``responseSchema`` (not ``responseJsonSchema``) gets ``propertyOrdering`` in the
    caller's order (gemini_output.py ``to_vertex_schema(schema, ordering=True)`` -> ``False``)."""
    import engine
    from engine.registry import default_registry

    model = "gemini-2.5-flash-image"
    caps = default_registry().resolve(f"vertex_ai/{model}", "chat").capabilities
    assert caps.get("response_schema") and not caps.get("json_schema")
    schema = {
        "type": "object",
        "properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer"}},
        "required": ["zeta", "alpha"],
    }
    emulator.script(model, [{"text": '{"zeta": "z", "alpha": 1}'}])
    engine.completion(
        model=f"vertex_ai/{model}",
        messages=[{"role": "user", "content": "hi"}],
        response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}},
        **vx,
    )
    sent = [r for r in emulator.requests() if r["path"].endswith(":generateContent")][-1]["body"]
    config = sent["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"]["propertyOrdering"] == ["zeta", "alpha"]


def _gemini_body(**params: object) -> dict:
    import engine
    from engine.registry import default_registry
    from engine.request import build_body

    resolved = default_registry().resolve("vertex_ai/gemini-2.5-flash", "chat")
    return build_body(resolved, resolved.family.operations["chat"], params, engine, False).body


@pytest.mark.parametrize("video", [{"fps": 1, "loop": True}, "10s", ["fps"]])
def test_video_metadata_refuses_other_keys_and_non_objects(video: object) -> None:
    """gemini_media.py: ``not isinstance(video, dict) or <unknown keys>`` -> ``and`` let unknown keys
    through to Vertex and crashed on a non-object."""
    from engine.errors import BadRequestError

    part = {"type": "image_url", "image_url": {"url": "gs://b/clip.mp4", "video_metadata": video}}
    with pytest.raises(BadRequestError, match="video_metadata takes fps, start_offset and end_offset"):
        _gemini_body(messages=[{"role": "user", "content": [part]}])


def test_video_metadata_is_renamed_for_vertex() -> None:
    part = {
        "type": "image_url",
        "image_url": {"url": "gs://b/clip.mp4", "video_metadata": {"fps": 2, "start_offset": "1s"}},
    }
    body = _gemini_body(messages=[{"role": "user", "content": [part]}])
    (sent,) = body["contents"][0]["parts"]
    assert sent["videoMetadata"] == {"fps": 2, "startOffset": "1s"}
    assert sent["fileData"]["fileUri"] == "gs://b/clip.mp4"


def test_a_nullable_type_list_of_several_types_stays_nullable() -> None:
    """gemini_schema.py: ``["string", "integer", "null"]`` is an anyOf that is itself nullable
    (``out["nullable"] = True`` -> ``False`` sent a schema refusing null)."""
    from engine.transforms.gemini_schema import to_vertex_schema

    assert to_vertex_schema({"type": ["string", "integer", "null"]}) == {
        "anyOf": [{"type": "STRING"}, {"type": "INTEGER"}],
        "nullable": True,
    }
    assert to_vertex_schema({"type": ["string", "integer"]}) == {
        "anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]
    }


def test_a_prefix_cache_this_close_to_expiry_is_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    """api.py ``_cached``: reused only while it has more than ``_CACHE_MARGIN`` seconds left
    (``>`` -> ``>=`` reused one expiring exactly at the margin). The clock is injected."""
    from engine import api

    now = 1_000_000.0
    monkeypatch.setattr(api.time, "time", lambda: now)
    margin = api._CACHE_MARGIN
    monkeypatch.setitem(api._PREFIX_CACHES, "k-edge", ("cachedContents/edge", now + margin))
    monkeypatch.setitem(api._PREFIX_CACHES, "k-live", ("cachedContents/live", now + margin + 0.5))
    assert api._cached("k-edge") is None
    assert api._cached("k-live") == "cachedContents/live"
    assert api._cached("k-missing") is None


def test_a_url_without_scheme_is_quoted_in_the_error_to_20_characters() -> None:
    """content.py quotes the first 20 characters of a scheme-less URL (``url[:20]`` -> ``[:21]``)."""
    from engine.errors import BadRequestError

    part = {"type": "image_url", "image_url": {"url": "abcdefghijklmnopqrstuvwxyz"}}
    with pytest.raises(BadRequestError) as caught:
        _gemini_body(messages=[{"role": "user", "content": [part]}])
    assert "unsupported URL scheme 'abcdefghijklmnopqrst'; use " in str(caught.value)


def test_a_host_resolving_to_nothing_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """gemini_media.check_address with the resolver seam answering no address: refused, the host
    quoted to 120 characters (the branch no test reached)."""
    from engine.errors import BadRequestError
    from engine.transforms import gemini_media

    monkeypatch.setattr(gemini_media, "resolver", lambda host, port: [])
    host = "h" * 130 + ".example"

    class Ctx:
        model = "m"
        capabilities: dict = {}

    with pytest.raises(BadRequestError) as caught:
        gemini_media.check_address(host, Ctx(), "messages[0]")
    assert f"cannot resolve media host {'h' * 120!r}" in str(caught.value)


def test_every_ambiguous_pair_of_patterns_is_reported_once(tmp_path: object) -> None:
    """Registry._ambiguities compares each pattern with every later one (``patterns[i + 1 :]`` ->
    ``[i - 1 :]`` missed the first pattern's pairs and reported others twice): three families
    claiming one pattern make exactly three problems, one per pair."""
    from pathlib import Path

    from engine.registry import Registry

    folder = Path(str(tmp_path))
    names = ("amb_a", "amb_b", "amb_c")
    for name in names:
        (folder / f"{name}.yaml").write_text(
            f"name: {name}\nextends: model_garden\nmodels:\n"
            "  - name: 'a-literal-prefix-longer-than-any-built-in-pattern-for-this-test-{version}'\n",
            encoding="utf-8",
        )
    problems = [p for p in Registry([folder], strict=False).problems if "can claim the same names" in p]
    pairs = [frozenset(n for n in names if f"{n}.yaml" in p) for p in problems]
    assert sorted(map(sorted, pairs)) == [["amb_a", "amb_b"], ["amb_a", "amb_c"], ["amb_b", "amb_c"]]


def test_a_call_id_with_an_empty_signature_is_left_whole() -> None:
    """gemini_tools.split_call_id: the mark without a signature after it is not a signature
    (``mark and signature`` -> ``or`` cut the id and returned an empty signature)."""
    from engine.transforms.gemini_tools import SIGNATURE_MARK, encode_call_id, split_call_id

    assert split_call_id(f"call_x{SIGNATURE_MARK}") == (f"call_x{SIGNATURE_MARK}", None)
    assert split_call_id("call_x") == ("call_x", None)
    assert split_call_id(encode_call_id("call_x", "SIG", "seed")) == ("call_x", "SIG")


def test_a_bare_data_field_is_an_empty_data_line() -> None:
    """SSE (html.spec.whatwg.org, "dispatch the event"): a line ``data`` without a colon is the field
    with an empty value (sse.py ``name == "data"`` -> ``!=`` turned every other field into data)."""
    from engine.sse import Event, SSEDecoder

    events = SSEDecoder().feed(b"data\ndata: x\n\nevent: e\ndata\n\nid: 7\nretry: 5\ndata: y\n\n")
    assert events == [Event(None, "\nx"), Event("e", ""), Event(None, "y")]


def test_a_tuple_of_item_schemas_becomes_an_any_of() -> None:
    """gemini_schema.py: ``items: [a, b]`` is anyOf [a, b], ``items: [a]`` is a (``len(items) != 1``
    -> ``!= 2`` kept only the first of two and wrapped a single one)."""
    from engine.transforms.gemini_schema import to_vertex_schema

    two = {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}
    assert to_vertex_schema(two)["items"] == {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]}
    one = {"type": "array", "items": [{"type": "string"}]}
    assert to_vertex_schema(one)["items"] == {"type": "STRING"}


def test_google_number_and_integer_fields_check_their_own_kind() -> None:
    """google_schema: a ``number`` field takes fractions, an integer field does not (``kind ==
    "number"`` -> ``!=`` swapped the two checks); a numeric string stays an int only below 2**53,
    where a float still holds it exactly (``abs(number) < 2**53`` -> ``<=``)."""
    from engine.google_schema import _Compiler, _Invalid, _number

    compiler = _Compiler("aiplatform.v1")
    assert compiler.scalar("number", None, None)(0.5, "f") == 0.5
    with pytest.raises(_Invalid, match="must be an integer"):
        compiler.scalar("int32", None, None)(0.5, "f")
    number = _number(None, None)
    assert number(0.5, "f") == 0.5
    assert number("9007199254740991", "f") == 2**53 - 1 and isinstance(number("9007199254740991", "f"), int)
    assert isinstance(number("9007199254740992", "f"), float)
    assert isinstance(number("-9007199254740992", "f"), float)
    with pytest.raises(_Invalid, match="must be a number"):
        number("many", "f")


def test_integer_parameters_take_exactly_the_int64_range() -> None:
    """request.py ``INT64_MAX = 2**63 - 1`` (Google's int64): both ends accepted, one past refused."""
    from engine.compiler import Param
    from engine.errors import BadRequestError
    from engine.request import check_value

    seed = Param(name="seed", type="integer")
    for inside in (2**63 - 1, -(2**63), 0):
        assert check_value(seed, inside, {}, "m") == inside
    for outside in (2**63, -(2**63) - 1):
        with pytest.raises(BadRequestError, match="integer \\(64-bit\\)"):
            check_value(seed, outside, {}, "m")


def test_a_prefix_cache_without_expiry_is_kept_for_the_default_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    """Vertex AI's context caches live 60 minutes by default (api.py ``time.time() + 3600`` when the
    reply names no ``expires_at``); the clock is injected."""
    import dataclasses

    from engine import api

    @dataclasses.dataclass
    class Sent:
        body: dict

    monkeypatch.setattr(api.time, "time", lambda: 5_000.0)
    for key in ("k-hour", "k-given"):  # registered so that the undo removes what the test adds
        monkeypatch.setitem(api._PREFIX_CACHES, key, ("stale", 0.0))
    sent = api._use_cache(Sent({"contents": []}), "k-hour", {"id": "cachedContents/1"})
    assert sent.body == {"contents": [], "cachedContent": "cachedContents/1"}
    assert api._PREFIX_CACHES["k-hour"] == ("cachedContents/1", 5_000.0 + 3600)
    api._use_cache(Sent({}), "k-given", {"id": "cachedContents/2", "expires_at": 6_000})
    assert api._PREFIX_CACHES["k-given"] == ("cachedContents/2", 6_000.0)


def test_speech_bytes_iterate_in_64_kib_chunks() -> None:
    from engine.types import SpeechResponse

    audio = SpeechResponse(b"a" * (2 * 65536 + 1), "audio/mpeg")
    assert [len(c) for c in audio.iter_bytes()] == [65536, 65536, 1]
    assert b"".join(audio.iter_bytes(1000)) == audio.read()


def test_a_given_property_ordering_keeps_only_known_names_once() -> None:
    """gemini_schema.py: ``isinstance(p, str) and p in props`` -> ``or`` kept names that are not
    properties (Vertex refuses them)."""
    from engine.transforms.gemini_schema import to_vertex_schema

    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "propertyOrdering": ["b", "ghost", 3, "a", "b"],
    }
    assert to_vertex_schema(schema)["propertyOrdering"] == ["b", "a"]


def test_project_and_location_ids_are_at_most_128_characters() -> None:
    """options._check_place: 128 printable ASCII characters pass, 129 are refused (``> 128`` -> ``>=``)."""
    from engine.errors import BadRequestError
    from engine.options import _check_place

    _check_place("vertex_location", "x" * 128)
    with pytest.raises(BadRequestError, match="is not a Google Cloud location id"):
        _check_place("vertex_location", "x" * 129)
    with pytest.raises(BadRequestError, match="is not a Google Cloud project id"):
        _check_place("vertex_project", "bad\nid")


def test_inline_media_may_fill_the_limit_exactly() -> None:
    """gemini_inline_limit: ``max_inline_bytes`` of decoded media pass, one byte more is refused
    (``total > limit`` -> ``>=`` refused a body exactly at the limit)."""
    import base64

    from engine.errors import BadRequestError
    from engine.transforms.gemini_media import gemini_inline_limit

    class Ctx:
        model = "m"
        capabilities = {"max_inline_bytes": 6}

    def body(size: int) -> dict:
        data = base64.b64encode(b"x" * size).decode()
        return {"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": data}}]}]}

    gemini_inline_limit(body(6), Ctx())
    with pytest.raises(BadRequestError):
        gemini_inline_limit(body(7), Ctx())


def test_a_yaml_error_names_its_line(tmp_path: object) -> None:
    """loader.py reports ruamel's 0-based mark as a 1-based line (``mark.line + 1`` -> ``+ 2``)."""
    from pathlib import Path

    from engine.registry import Registry

    broken = Path(str(tmp_path)) / "broken.yaml"
    broken.write_text("name: x\n\tbad: tab\n", encoding="utf-8")
    (problem,) = [p for p in Registry([broken.parent], strict=False).problems if "not valid YAML" in p]
    assert "broken.yaml:2:" in problem


@pytest.mark.parametrize("kind", ["int32", "int64"])
def test_signed_integer_fields_take_exactly_their_range(kind: str) -> None:
    from engine.google_schema import _integer, _Invalid

    bits = 31 if kind == "int32" else 63
    check = _integer(kind, None, None)
    assert check(2**bits - 1, "f") == 2**bits - 1 and check(-(2**bits), "f") == -(2**bits)
    for outside in (2**bits, -(2**bits) - 1):
        with pytest.raises(_Invalid, match=f"outside the {kind} range"):
            check(outside, "f")


def test_a_host_resolving_to_a_malformed_address_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """gemini_media.check_address: a resolver answer that is not an IP address is refused, the host
    quoted to 120 characters (``host[:120]`` -> ``[:121]``)."""
    from engine.errors import BadRequestError
    from engine.transforms import gemini_media

    monkeypatch.setattr(gemini_media, "resolver", lambda host, port: ["not-an-address"])
    host = "h" * 130 + ".example"

    class Ctx:
        model = "m"
        capabilities: dict = {}

    with pytest.raises(BadRequestError) as caught:
        gemini_media.check_address(host, Ctx(), "messages[0]")
    assert f"media host {'h' * 120!r} resolved to a malformed address" in str(caught.value)
