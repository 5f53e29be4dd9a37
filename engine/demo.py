"""``vertexlate demo``: a guided tour of the engine against the built-in emulator.

Starts the emulator in-process on a free loopback port, issues a service-account
credential from it (so google-auth's real OAuth flow runs), then makes the calls
the seed document shows, printing for each what was asked, what went over the wire
and what came back. Nothing leaves the machine.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import engine

WIDTH = 78


class Tour:
    def __init__(self, emulator: Any, credentials: dict[str, Any]) -> None:
        self.emu = emulator
        self.kwargs = {
            "api_base": emulator.url,
            "vertex_credentials": credentials,
            "vertex_location": "us-central1",
        }

    def heading(self, title: str) -> None:
        print("\n" + f"── {title} ".ljust(WIDTH, "─"))

    def asked(self, text: str) -> None:
        print(f"  asked : {text}")

    def wire(self) -> None:
        requests = self.emu.requests()
        if not requests:
            return
        last = requests[-1]
        body = json.dumps(last.get("body"), ensure_ascii=False)
        print(f"  wire  : {last['method']} {last['path']}")
        print(f"          {body[:300]}{'…' if len(body) > 300 else ''}")

    def got(self, text: Any) -> None:
        print(f"  got   : {text}")

    # ---------------------------------------------------------------- steps

    def chat(self) -> None:
        self.heading("Chat: Gemini through generateContent")
        messages = [
            {"role": "system", "content": "You are a good bot."},
            {"role": "user", "content": "Hello, how are you?"},
        ]
        self.asked('completion(model="vertex_ai/gemini-2.5-flash", messages=[system, user])')
        resp = engine.completion(model="vertex_ai/gemini-2.5-flash", messages=messages, **self.kwargs)
        self.wire()
        self.got(
            f"{resp.choices[0].message.content!r}  (finish_reason={resp.choices[0].finish_reason}, usage={resp.usage.total_tokens} tokens)"
        )

    def stream(self) -> None:
        self.heading("Streaming: chunks printed as they arrive")
        self.emu.script(
            "gemini-2.5-flash", [{"text": "Streaming works: each chunk is an OpenAI chat.completion.chunk."}]
        )
        self.asked("completion(..., stream=True, stream_options={'include_usage': True})")
        print("  got   : ", end="", flush=True)
        stream = engine.completion(
            model="vertex_ai/gemini-2.5-flash",
            messages=[{"role": "user", "content": "Stream a sentence."}],
            stream=True,
            stream_options={"include_usage": True},
            **self.kwargs,
        )
        for chunk in stream:
            for choice in chunk.choices:
                print(choice.delta.get("content") or "", end="", flush=True)
            if chunk.get("usage"):
                print(f"\n          (usage chunk: {chunk.usage.total_tokens} tokens)")
        self.wire()

    def tools(self) -> None:
        self.heading("Function calling: tool_choice='required'")
        self.emu.script(
            "gemini-2.5-flash",
            [{"function_calls": [{"name": "get_weather", "args": {"location": "San Francisco, CA"}}]}],
        )
        tools = [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Get the current weather in a given location",
                    "parameters": {
                        "type": "object",
                        "properties": {"location": {"type": "string"}},
                        "required": ["location"],
                    },
                },
            }
        ]
        self.asked("completion(..., tools=[get_weather], tool_choice='required')")
        resp = engine.completion(
            model="vertex_ai/gemini-2.5-flash",
            messages=[{"role": "user", "content": "What is the weather in San Francisco?"}],
            tools=tools,
            tool_choice="required",
            **self.kwargs,
        )
        self.wire()
        call = resp.choices[0].message.tool_calls[0]
        self.got(
            f"tool call {call.function.name}({call.function.arguments})  finish_reason={resp.choices[0].finish_reason}"
        )

    def json_schema(self) -> None:
        self.heading("Structured output: response_format with a response_schema")
        self.emu.script(
            "gemini-2.5-flash",
            [{"text": '[{"recipe_name": "Chocolate chip"}, {"recipe_name": "Oatmeal raisin"}]'}],
        )
        schema = {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"recipe_name": {"type": "string"}},
                "required": ["recipe_name"],
            },
        }
        self.asked(
            "completion(..., response_format={'type': 'json_object', 'response_schema': schema, 'enforce_validation': True})"
        )
        resp = engine.completion(
            model="vertex_ai/gemini-2.5-flash",
            messages=[{"role": "user", "content": "List 2 popular cookie recipes."}],
            response_format={"type": "json_object", "response_schema": schema, "enforce_validation": True},
            **self.kwargs,
        )
        self.wire()
        self.got(json.loads(resp.choices[0].message.content))

    def thinking(self) -> None:
        self.heading("Thinking: reasoning_effort='low'")
        self.emu.script(
            "gemini-2.5-flash",
            [
                {
                    "thought": "France's capital is Paris.",
                    "thought_signature": "c2lnbmF0dXJl",
                    "text": "Paris.",
                }
            ],
        )
        self.asked("completion(model='vertex_ai/gemini-2.5-flash', ..., reasoning_effort='low')")
        resp = engine.completion(
            model="vertex_ai/gemini-2.5-flash",
            messages=[{"role": "user", "content": "What is the capital of France?"}],
            reasoning_effort="low",
            **self.kwargs,
        )
        self.wire()
        message = resp.choices[0].message
        self.got(f"content={message.content!r} reasoning_content={message.get('reasoning_content')!r}")

    def claude(self) -> None:
        self.heading("Anthropic Claude on Vertex (rawPredict)")
        self.asked(
            "completion(model='vertex_ai/claude-3-7-sonnet@20250219', messages=[user], temperature=0.7)"
        )
        resp = engine.completion(
            model="vertex_ai/claude-3-7-sonnet@20250219",
            messages=[{"role": "user", "content": "hi"}],
            temperature=0.7,
            **self.kwargs,
        )
        self.wire()
        self.got(repr(resp.choices[0].message.content))

    def embeddings(self) -> None:
        self.heading("Embeddings: text-embedding-004")
        self.asked(
            "embedding(model='vertex_ai/text-embedding-004', input=['good morning from litellm', 'gm'], dimensions=8)"
        )
        resp = engine.embedding(
            model="vertex_ai/text-embedding-004",
            input=["good morning from litellm", "gm"],
            dimensions=8,
            **self.kwargs,
        )
        self.wire()
        self.got(
            f"{len(resp.data)} vectors of {len(resp.data[0].embedding)} floats, first: {resp.data[0].embedding[:3]}"
        )

    def images(self) -> None:
        self.heading("Image generation: Imagen")
        self.asked(
            "image_generation(prompt='An olympic size swimming pool', model='vertex_ai/imagegeneration@006')"
        )
        resp = engine.image_generation(
            prompt="An olympic size swimming pool", model="vertex_ai/imagegeneration@006", **self.kwargs
        )
        self.wire()
        png = base64.b64decode(resp.data[0].b64_json)
        self.got(f"{len(resp.data)} image(s), {len(png)} bytes, PNG signature {png[:4]!r}")

    def speech(self) -> None:
        self.heading("Text-to-Speech")
        self.asked(
            "speech(model='vertex_ai/', input='hello what llm guardrail do you have', response_format='wav')"
        )
        resp = engine.speech(
            model="vertex_ai/",
            input="hello what llm guardrail do you have",
            response_format="wav",
            **self.kwargs,
        )
        self.wire()
        path = Path(tempfile.gettempdir()) / "speech_vertex.wav"
        resp.stream_to_file(path)
        self.got(f"{len(resp.content)} bytes of {resp.media_type} written to {path}")

    def errors(self) -> None:
        self.heading("Errors: an upstream 429 becomes engine.RateLimitError")
        self.emu.script("gemini-2.5-flash", [{"status": 429, "retry_after": 0}])
        self.asked("completion(...) while the emulator answers 429 RESOURCE_EXHAUSTED")
        try:
            engine.completion(
                model="vertex_ai/gemini-2.5-flash",
                messages=[{"role": "user", "content": "hi"}],
                **self.kwargs,
            )
        except engine.RateLimitError as exc:
            self.got(f"{type(exc).__name__} status={exc.status_code}: {exc.message[:90]}")


def steps(tour: Tour) -> list[tuple[str, Callable[[], None]]]:
    return [
        ("chat", tour.chat),
        ("streaming", tour.stream),
        ("tools", tour.tools),
        ("json schema", tour.json_schema),
        ("thinking", tour.thinking),
        ("claude", tour.claude),
        ("embeddings", tour.embeddings),
        ("images", tour.images),
        ("speech", tour.speech),
        ("errors", tour.errors),
    ]


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("NO_GCE_CHECK", "true")  # the demo never needs the real metadata server
    from engine.emulator import Emulator

    print("Vertexlate demo: the engine against a local Vertex AI emulator (nothing leaves this machine).")
    failures = 0
    with Emulator() as emu:
        credentials = emu.issue_service_account(project_id="demo-project")
        print(f"emulator: {emu.url}   service account: {credentials['client_email']}")
        tour = Tour(emu, credentials)
        for name, step in steps(tour):
            emu.reset()
            try:
                step()
            except Exception as exc:  # a tour step must not hide the rest of the tour
                failures += 1
                print(f"  FAILED ({name}): {type(exc).__name__}: {exc}")
    print("\n" + ("All steps ran." if not failures else f"{failures} step(s) failed."))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
