"""Function calling and built-in tools, request side: OpenAI ``tools``/``tool_choice``/history → Vertex body.

Expected bodies follow the generateContent reference (Tool, ToolConfig,
FunctionDeclaration, FunctionCall, FunctionResponse in the aiplatform v1 discovery
document); every body is validated against that document by ``helpers.body``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.errors import BadRequestError, UnsupportedParamsError
from engine.registry import default_registry
from tests.fixtures.load import load
from tests.gemini.helpers import WEATHER_TOOL, body

WEATHER = WEATHER_TOOL
WEATHER_DECLARATION = {
    "name": "get_current_weather",
    "description": "Get the current weather in a given location",
    "parameters": {
        "type": "OBJECT",
        "properties": {
            "location": {"type": "STRING", "description": "The city and state, e.g. San Francisco, CA"},
            "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
}


def _upper_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: (v.upper() if k == "type" else _upper_types(v)) for k, v in schema.items() if k != "default"
        }
    return schema


def test_google_function_declaration_example() -> None:
    """Google's REST example (fixture), sent as an OpenAI tool, gives the same declaration.

    Two documented differences: types are spelled as the discovery enum (``OBJECT``), and the
    example's ``default: {"string_value": ...}`` (not a string, so not a valid default for a
    STRING) is not produced from OpenAI input.
    """
    fixture = load("gemini/request_function_declarations.json")["body"]
    declaration = copy.deepcopy(fixture["tools"][0]["functionDeclarations"][0])
    tool = {"type": "function", "function": {k: v for k, v in declaration.items()}}
    messages = [{"role": "user", "content": fixture["contents"][0]["parts"][0]["text"]}]
    got = body(messages=messages, tools=[tool])
    expected = {
        **fixture,
        "tools": [
            {"functionDeclarations": [{**declaration, "parameters": _upper_types(declaration["parameters"])}]}
        ],
    }
    assert got == expected


def test_seed_tool_choice_required() -> None:
    """The seed's 'force Gemini to call tools' example."""
    messages = [
        {"role": "system", "content": "Your name is Litellm Bot, you are a helpful assistant"},
        {"role": "user", "content": "Hello, what is your name and can you tell me the weather?"},
    ]
    tool = {"type": "function", "function": {**WEATHER["function"], "name": "get_weather"}}
    got = body("gemini-1.5-pro-preview-0514", messages=messages, tools=[tool], tool_choice="required")
    assert got == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hello, what is your name and can you tell me the weather?"}]}
        ],
        "systemInstruction": {"parts": [{"text": "Your name is Litellm Bot, you are a helpful assistant"}]},
        "tools": [{"functionDeclarations": [{**WEATHER_DECLARATION, "name": "get_weather"}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
    }


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        (
            {"type": "function", "function": {"name": "get_current_weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["get_current_weather"]},
        ),
    ],
)
def test_tool_choice(choice: Any, config: dict[str, Any]) -> None:
    assert body(tools=[WEATHER], tool_choice=choice)["toolConfig"] == {"functionCallingConfig": config}


def test_tool_choice_naming_an_unknown_function_is_a_clear_error() -> None:
    with pytest.raises(BadRequestError, match="tool_choice names function 'nope'.*get_current_weather"):
        body(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "nope"}})


def test_parallel_tool_calls_true_is_gemini_behavior_and_sends_no_field() -> None:
    assert body(tools=[WEATHER], parallel_tool_calls=True) == body(tools=[WEATHER])


def test_parallel_tool_calls_false_cannot_be_honored_so_it_is_rejected_unless_dropped() -> None:
    with pytest.raises(UnsupportedParamsError, match="parallel_tool_calls"):
        body(tools=[WEATHER], parallel_tool_calls=False)
    assert body(tools=[WEATHER], parallel_tool_calls=False, drop_params=True) == body(tools=[WEATHER])


def test_several_functions_share_one_tool_object() -> None:
    other = {"type": "function", "function": {"name": "now", "description": "Current time"}}
    assert body(tools=[WEATHER, other])["tools"] == [
        {"functionDeclarations": [WEATHER_DECLARATION, {"name": "now", "description": "Current time"}]}
    ]


def test_parameters_are_sanitized_and_empty_parameters_dropped() -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "lookup",
            "strict": True,
            "parameters": {
                "type": "object",
                "$defs": {"Id": {"type": "string", "format": "uuid"}},
                "properties": {
                    "id": {"$ref": "#/$defs/Id"},
                    "limit": {"type": ["integer", "null"], "default": 10},
                },
                "required": ["id"],
                "additionalProperties": False,
            },
        },
    }
    empty = {
        "type": "function",
        "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}},
    }
    assert body(tools=[tool, empty])["tools"][0]["functionDeclarations"] == [
        {
            "name": "lookup",
            "parameters": {
                "type": "OBJECT",
                "properties": {
                    "id": {"type": "STRING"},
                    "limit": {"type": "INTEGER", "default": 10, "nullable": True},
                },
                "required": ["id"],
            },
        },
        {"name": "ping"},
    ]


@pytest.mark.parametrize(
    ("tools", "needle"),
    [
        (
            [{"type": "function", "function": {"name": "bad name!"}}],
            "function name 'bad name!' is not accepted",
        ),
        ([WEATHER, WEATHER], "function names must be unique"),
        ([{"type": "retrieval_plugin"}], "unsupported tool"),
        (
            [
                {
                    "type": "function",
                    "function": {
                        "name": "t",
                        "parameters": {
                            "$defs": {"N": {"properties": {"n": {"$ref": "#/$defs/N"}}}},
                            "$ref": "#/$defs/N",
                        },
                    },
                }
            ],
            "tools[0].parameters: recursive $ref",
        ),
    ],
)
def test_bad_tools_are_clear_errors(tools: list[Any], needle: str) -> None:
    with pytest.raises(BadRequestError) as info:
        body(tools=tools)
    assert needle in info.value.message


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        ({"googleSearch": {}}, {"googleSearch": {}}),
        ({"google_search": {}}, {"googleSearch": {}}),
        (
            {"googleSearch": {"disable_attributon": False}},
            {"googleSearch": {}},
        ),  # the seed's migration example
        ({"enterpriseWebSearch": {}}, {"enterpriseWebSearch": {}}),
        ({"code_execution": {}}, {"codeExecution": {}}),
        ({"url_context": {}}, {"urlContext": {}}),
        (
            {
                "google_search_retrieval": {
                    "dynamic_retrieval_config": {"mode": "MODE_DYNAMIC", "dynamic_threshold": 0.3}
                }
            },
            {
                "googleSearchRetrieval": {
                    "dynamicRetrievalConfig": {"mode": "MODE_DYNAMIC", "dynamicThreshold": 0.3}
                }
            },
        ),
    ],
)
def test_builtin_tools_pass_through_in_vertex_spelling(
    tool: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert body(tools=[tool])["tools"] == [expected]


def test_builtin_tools_each_get_their_own_tool_object() -> None:
    assert body(tools=[{"googleSearch": {}}, {"urlContext": {}}])["tools"] == [
        {"googleSearch": {}},
        {"urlContext": {}},
    ]


def test_web_search_options_maps_to_google_search() -> None:
    assert body(web_search_options={"search_context_size": "high"})["tools"] == [{"googleSearch": {}}]
    assert body(tools=[{"google_search": {}}], web_search_options={})["tools"] == [{"googleSearch": {}}]


def test_function_and_builtin_tools_together_are_refused_where_vertex_refuses_them() -> None:
    with pytest.raises(
        BadRequestError, match="cannot combine function tools with built-in tools \\(googleSearch\\)"
    ):
        body(tools=[WEATHER, {"googleSearch": {}}])
    with pytest.raises(BadRequestError, match="cannot combine"):
        body(tools=[WEATHER], web_search_options={})


def test_function_and_builtin_tools_together_where_the_spec_allows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = default_registry().resolve("gemini-2.5-flash", "chat").entry
    monkeypatch.setitem(entry.capabilities, "mixed_tools", True)
    assert body(tools=[WEATHER, {"googleSearch": {}}])["tools"] == [
        {"functionDeclarations": [WEATHER_DECLARATION]},
        {"googleSearch": {}},
    ]


# --------------------------------------------------------------------------- conversation history

CALLS = [
    {
        "id": "call_a__thought__c2lnLWE=",
        "type": "function",
        "function": {"name": "get_current_weather", "arguments": '{"location": "Boston, MA"}'},
    },
    {
        "id": "call_b",
        "type": "function",
        "function": {"name": "get_current_weather", "arguments": '{"location": "Paris"}'},
    },
]


def history(*tail: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Weather in Boston and Paris?"},
        {"role": "assistant", "content": None, "tool_calls": CALLS},
        *tail,
    ]


def test_tool_calls_and_results_become_function_call_and_response_parts_in_call_order() -> None:
    messages = history(
        {"role": "tool", "tool_call_id": "call_b", "content": "18 C"},  # answered out of order
        {"role": "tool", "tool_call_id": "call_a__thought__c2lnLWE=", "content": "5 C"},
    )
    assert body(messages=messages, tools=[WEATHER])["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Boston and Paris?"}]},
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_current_weather", "args": {"location": "Boston, MA"}},
                    "thoughtSignature": "c2lnLWE=",
                },
                {"functionCall": {"name": "get_current_weather", "args": {"location": "Paris"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_current_weather", "response": {"content": "5 C"}}},
                {"functionResponse": {"name": "get_current_weather", "response": {"content": "18 C"}}},
            ],
        },
    ]


def test_signature_from_provider_specific_fields_and_id_without_signature_in_results() -> None:
    calls = [{**CALLS[1], "provider_specific_fields": {"thought_signature": "c2lnLWI="}}]
    messages = [
        {"role": "user", "content": "Paris?"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_b", "content": [{"type": "text", "text": "18 C"}]},
    ]
    contents = body(messages=messages, tools=[WEATHER])["contents"]
    assert contents[1]["parts"] == [
        {"text": "Let me check."},
        {
            "functionCall": {"name": "get_current_weather", "args": {"location": "Paris"}},
            "thoughtSignature": "c2lnLWI=",
        },
    ]
    assert contents[2]["parts"] == [
        {"functionResponse": {"name": "get_current_weather", "response": {"content": "18 C"}}}
    ]


def test_a_result_may_use_the_id_without_its_signature() -> None:
    messages = history(
        {"role": "tool", "tool_call_id": "call_a", "content": "5 C"},
        {"role": "tool", "tool_call_id": "call_b", "content": "18 C"},
    )
    assert len(body(messages=messages, tools=[WEATHER])["contents"][2]["parts"]) == 2


def test_thinking_block_signature_goes_back_on_the_text_part() -> None:
    messages = [
        {"role": "user", "content": "Capital of France?"},
        {
            "role": "assistant",
            "content": "Paris.",
            "thinking_blocks": [{"type": "thinking", "thinking": "easy", "signature": "c2ln"}],
        },
        {"role": "user", "content": "And Italy?"},
    ]
    assert body("gemini-3-pro-preview", messages=messages)["contents"][1] == {
        "role": "model",
        "parts": [{"text": "Paris.", "thoughtSignature": "c2ln"}],
    }


def test_legacy_function_role() -> None:
    messages = [
        {"role": "user", "content": "Time?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "now", "arguments": ""}}],
        },
        {"role": "function", "name": "now", "content": "12:00"},
    ]
    contents = body(messages=messages)["contents"]
    assert contents[1]["parts"] == [{"functionCall": {"name": "now", "args": {}}}]
    assert contents[2]["parts"] == [{"functionResponse": {"name": "now", "response": {"content": "12:00"}}}]


@pytest.mark.parametrize(
    ("messages", "needle"),
    [
        (
            history({"role": "tool", "tool_call_id": "call_zzz", "content": "x"}),
            "tool_call_id 'call_zzz' matches no tool call",
        ),
        (
            history(
                {"role": "tool", "tool_call_id": "call_b", "content": "x"},
                {"role": "user", "content": "well?"},
            ),
            "made 2 tool call(s) but 1 tool result(s)",
        ),
        (
            [
                {"role": "user", "content": "x"},
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}],
                },
            ],
            "function.arguments is not valid JSON",
        ),
        (
            [
                {"role": "user", "content": "x"},
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1]"}}],
                },
            ],
            "must be a JSON object",
        ),
    ],
)
def test_broken_histories_are_clear_errors(messages: list[Any], needle: str) -> None:
    with pytest.raises(BadRequestError) as info:
        body(messages=messages)
    assert needle in info.value.message
