"""Grounding: ``groundingMetadata`` → ``_hidden_params["vertex_ai_grounding_metadata"]`` and ``url_citation`` annotations.

Fixture: tests/fixtures/gemini/generate_content_grounding.json (a recorded Vertex reply with
Google Search grounding; source inside the file). Its segments carry UTF-8 *byte* offsets
(the answer contains '°'); OpenAI annotations use character offsets, so every annotation is
checked by slicing the content with it and finding the segment's own text.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fixtures.load import load
from tests.gemini.helpers import normalize, stream


def grounded() -> dict[str, Any]:
    return copy.deepcopy(load("gemini/generate_content_grounding.json")["body"])


def test_grounding_metadata_is_returned_per_candidate() -> None:
    data = grounded()
    resp = normalize(data)
    assert resp._hidden_params["vertex_ai_grounding_metadata"] == [data["candidates"][0]["groundingMetadata"]]


def test_grounding_supports_become_url_citations_with_character_offsets() -> None:
    data = grounded()
    meta = data["candidates"][0]["groundingMetadata"]
    message = normalize(data).model_dump()["choices"][0]["message"]
    annotations = message["annotations"]
    chunks = [c["web"] for c in meta["groundingChunks"]]
    expected_sources = [chunks[i] for s in meta["groundingSupports"] for i in s["groundingChunkIndices"]]
    assert [(a["url_citation"]["url"], a["url_citation"]["title"]) for a in annotations] == [
        (c["uri"], c["title"]) for c in expected_sources
    ]
    assert all(a["type"] == "url_citation" for a in annotations)
    for annotation, support in zip(annotations, meta["groundingSupports"], strict=True):
        cited = annotation["url_citation"]
        assert message["content"][cited["start_index"] : cited["end_index"]] == support["segment"]["text"]
    assert [a["url_citation"]["start_index"] for a in annotations] == [0, 57, 120]  # bytes 0, 57, 124


def test_no_grounding_means_an_empty_list_and_no_annotations() -> None:
    resp = normalize(load("gemini/generate_content_text.json")["body"])
    assert resp._hidden_params["vertex_ai_grounding_metadata"] == []
    assert "annotations" not in resp.choices[0].message


def test_a_candidate_without_grounding_keeps_its_place() -> None:
    data = grounded()
    plain = {
        "content": {"role": "model", "parts": [{"text": "Ungrounded."}]},
        "finishReason": "STOP",
        "index": 1,
    }
    data["candidates"].append(plain)
    resp = normalize(data)
    assert resp._hidden_params["vertex_ai_grounding_metadata"] == [
        data["candidates"][0]["groundingMetadata"],
        None,
    ]
    assert "annotations" not in resp.choices[1].message


def test_streamed_grounding_ends_as_one_entry_per_candidate() -> None:
    data = grounded()
    candidate = data["candidates"][0]
    text = candidate["content"]["parts"][0]["text"]
    first = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text[:57]}]}}],
        "responseId": data["responseId"],
    }
    last = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text[57:]}]},
                "finishReason": "STOP",
                "groundingMetadata": candidate["groundingMetadata"],
            }
        ],
        "usageMetadata": data["usageMetadata"],
        "responseId": data["responseId"],
    }
    chunks, normalizer = stream([first, last])
    assert normalizer.hidden["vertex_ai_grounding_metadata"] == [candidate["groundingMetadata"]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == text
    urls = [a["url_citation"]["url"] for a in chunks[-1]["choices"][0]["delta"]["annotations"]]
    assert urls == [candidate["groundingMetadata"]["groundingChunks"][i]["web"]["uri"] for i in (0, 1, 1)]
