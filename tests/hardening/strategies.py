"""Hypothesis strategies for hostile and careless input: malformed messages, parameters, options, credentials.

Why a module: every fuzz test draws from the same vocabulary of bad values (lone surrogates,
NaN, 10**308, deep nesting, wrong types in every slot, URLs with every scheme) so a defect
found on one call is tried on all of them.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from engine.request import ENGINE_OPTIONS

SURROGATE = "\ud800"


def nest(depth: int, leaf: Any = "x") -> Any:
    """``[[[...leaf...]]]`` ``depth`` levels deep, built without recursion."""
    value: Any = leaf
    for _ in range(depth):
        value = [value]
    return value


def nest_dict(depth: int) -> Any:
    value: Any = {"type": "text", "text": "x"}
    for _ in range(depth):
        value = {"a": value}
    return value


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63), 10**9, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 0.5]),
    st.text(max_size=12),
    st.sampled_from(["", " ", SURROGATE, f"a{SURROGATE}b", "\x00", "é", "x" * 5000, "10", "nan", "1e308"]),
    st.binary(max_size=8),
)

DEEP = st.one_of(st.integers(90, 3000).map(nest), st.integers(90, 3000).map(nest_dict))

JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=8), st.sampled_from(["type", "text", "url"])), inner, max_size=4
        ),
    ),
    max_leaves=12,
)

ANY = st.one_of(JSONISH, DEEP, st.sampled_from([object(), {1, 2}, (1, 2), b"bytes", {(1, 2): "tuple key"}]))

URLS = st.sampled_from(
    [
        "file:///etc/passwd",
        "ftp://example.com/a.png",
        "http://169.254.169.254/latest/meta-data.png",
        "http://[fe80::1]/a.png",
        "http://[::1]/a.png",
        "http://127.0.0.1/a.png",
        "http://localhost/a.png",
        "http://2130706433/a.png",
        "http://0x7f.1/a.png",
        "https://example.com/a.png",
        "gs://bucket/a.png",
        "gs:///a.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "data:image/png,raw",
        "data:;base64,AAAA",
        "javascript:alert(1)",
        "https://exa mple.com/a.png",
        "https://[::1/a.png",
        f"https://example.com/{SURROGATE}.png",
        "",
    ]
)


def _media_part(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    value = st.one_of(
        URLS, st.fixed_dictionaries({"url": st.one_of(URLS, ANY)}, optional={"format": ANY}), ANY
    )
    return st.fixed_dictionaries({"type": st.just(kind), kind: value})


PARTS = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": st.one_of(st.text(max_size=20), ANY)}),
    _media_part("image_url"),
    _media_part("video_url"),
    st.fixed_dictionaries(
        {
            "type": st.just("file"),
            "file": st.one_of(
                ANY,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "file_id": st.one_of(URLS, ANY),
                        "file_data": st.one_of(URLS, ANY),
                        "format": ANY,
                    },
                ),
            ),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("input_audio"),
            "input_audio": st.one_of(ANY, st.fixed_dictionaries({"data": ANY, "format": ANY})),
        }
    ),
    st.fixed_dictionaries({"type": ANY}),
    ANY,
)

CONTENT = st.one_of(st.text(max_size=20), st.lists(PARTS, max_size=3), ANY)

TOOL_CALL = st.one_of(
    ANY,
    st.fixed_dictionaries(
        {"id": st.one_of(st.text(max_size=8), ANY), "type": st.just("function")},
        optional={
            "function": st.one_of(
                ANY,
                st.fixed_dictionaries(
                    {"name": st.one_of(st.sampled_from(["f", "get_weather"]), ANY)},
                    optional={
                        "arguments": st.one_of(st.sampled_from(["{}", '{"a": 1}', "[1]", "{", "5"]), ANY)
                    },
                ),
            )
        },
    ),
)

MESSAGE = st.one_of(
    st.fixed_dictionaries(
        {
            "role": st.one_of(
                st.sampled_from(["user", "system", "developer", "assistant", "tool", "function"]), ANY
            )
        },
        optional={
            "content": CONTENT,
            "tool_calls": st.one_of(st.lists(TOOL_CALL, max_size=2), ANY),
            "thinking_blocks": st.one_of(
                st.lists(
                    st.one_of(ANY, st.fixed_dictionaries({"type": st.just("thinking"), "thinking": ANY})),
                    max_size=2,
                ),
                ANY,
            ),
            "tool_call_id": st.one_of(st.text(max_size=8), ANY),
            "name": ANY,
            "cache_control": ANY,
        },
    ),
    ANY,
)

GOOD_MESSAGES = [{"role": "user", "content": "hi"}]
MESSAGES = st.one_of(st.lists(MESSAGE, min_size=0, max_size=4), ANY, st.just(GOOD_MESSAGES))

# Every engine option, from the engine's own list, so an option added later is fuzzed too.
OPTION_NAMES = sorted(ENGINE_OPTIONS - {"model", "custom_llm_provider"})

OPTION_VALUES = st.one_of(
    ANY,
    st.sampled_from(
        [
            "evil.com#",
            "evil.com/",
            "a?b",
            "x@evil.com",
            "evil.com:80/",
            "us-central1",
            "global",
            "http://127.0.0.1:9",
            "https://evil.com#",
            "/no/such/key.json",
            "/tmp",
            "{not json",
            {"include_usage": "yes"},
            {"x-goog-api-key": "k", "Cookie": None},
            {"é": "v"},
            {"a\r\nb": "v"},
            {"a": "v\r\nInjected: 1"},
            {"type": "service_account", "token_uri": None},
            {"type": "external_account", "audience": 5},
            {"type": "authorized_user", "refresh_token": 5},
        ]
    ),
)

OPTIONS = st.dictionaries(st.sampled_from(OPTION_NAMES), OPTION_VALUES, max_size=2)

PARAM_NAMES = [
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "n",
    "stop",
    "seed",
    "tools",
    "tool_choice",
    "response_format",
    "safety_settings",
    "reasoning_effort",
    "thinking",
    "labels",
    "cached_content",
    "logprobs",
    "top_logprobs",
    "web_search_options",
    "parallel_tool_calls",
    "presence_penalty",
    "frequency_penalty",
    "dimensions",
    "size",
    "quality",
    "voice",
    "speed",
    "response_format",
    "audioConfig",
    "suffix",
    "user",
    "unknown_param",
]

GOOGLE_DICTS = st.one_of(
    st.sampled_from(
        [
            [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
            [{"category": "NOPE", "threshold": "BLOCK_NONE"}],
            [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": 5}],
            [{"googleSearch": {}}],
            [{"googleSearch": {"unknown": 1}}],
            [{"googleSearchRetrieval": {"dynamicRetrievalConfig": {"dynamicThreshold": "2"}}}],
            {"audioEncoding": "LINEAR22", "speakingRate": "10"},
            {"audioEncoding": "MP3", "speakingRate": "1.5"},
            {"audio_encoding": "MP3", "pitch": "nan"},
            {"languageCode": 5},
            {"languageCode": "en-US", "name": "en-US-Studio-O", "bogus": True},
        ]
    ),
    ANY,
)

PARAMS = st.dictionaries(st.sampled_from(PARAM_NAMES), st.one_of(ANY, GOOGLE_DICTS), max_size=3)

MODELS = st.one_of(
    st.sampled_from(
        [
            "vertex_ai/gemini-2.5-flash",
            "vertex_ai/claude-3-5-sonnet-v2@20241022",
            "vertex_ai/meta/llama-3.1-405b-instruct-maas",
            "vertex_ai/mistral-large@2407",
            "vertex_ai/openai/1234567890",
            "vertex_ai/gemini/1234567890",
            f"vertex_ai/gemini-{SURROGATE}",
            "vertex_ai/gemini-x#frag",
            "vertex_ai/gemini-x?alt=media",
            "vertex_ai/gemini-../../x",
            "vertex_ai/gemini/..%2F..",
            "vertex_ai/" + "g" * 5000,
        ]
    ),
    ANY,
)
