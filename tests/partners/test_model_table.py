"""tools/model_table.py: the README's model table comes from the specs, and a stale one is caught."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("model_table", ROOT / "tools" / "model_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()


@pytest.fixture(scope="module")
def table() -> str:
    return TOOL.render(TOOL.builtin_registry())


def test_every_seed_partner_model_is_in_the_table(table: str) -> None:
    for name in (
        "claude-3-opus@20240229",
        "claude-3-7-sonnet@20250219",
        "claude-3-7-sonnet-20250219",
        "meta/llama3-405b-instruct-maas",
        "meta/llama-4-scout-128b-16e-instruct-maas",
        "mistral-large@2407",
        "codestral@2405",
        "jamba-1.5-large@001",
        "openai/<endpoint_id>",
        "gemini/<endpoint_id>",
        "chat-bison-32k",
        "code-gecko@latest",
    ):
        assert f"`vertex_ai/{name}`" in table, name
    assert "| mistral | `vertex_ai/codestral@2405` | chat, text_completion | fill-in-the-middle |" in table
    assert "default location us-east5" in table and "**retired**" in table


def test_check_and_write(tmp_path: Path, table: str, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{TOOL.START}\nold table\n{TOOL.END}\n\nMore text.\n", encoding="utf-8")
    assert TOOL.main(["--check", str(readme)]) == 1
    assert "stale" in capsys.readouterr().err
    assert TOOL.main(["--write", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text == f"# Title\n\n{TOOL.START}\n{table}{TOOL.END}\n\nMore text.\n"
    assert TOOL.main(["--check", str(readme)]) == 0
    assert TOOL.main([]) == 0 and capsys.readouterr().out == table


def test_missing_markers_are_an_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n", encoding="utf-8")
    assert TOOL.main(["--check", str(readme)]) == 2
    assert TOOL.main(["--write", str(readme)]) == 2 and readme.read_text(encoding="utf-8") == "# no markers\n"


def test_user_spec_path_does_not_leak_into_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str
) -> None:
    (tmp_path / "extra.yaml").write_text(
        "name: extra\nextends: llama\nmodels:\n  - name: meta/extra-maas\n", encoding="utf-8"
    )
    monkeypatch.setenv("VERTEXLATE_SPEC_PATH", str(tmp_path))
    assert TOOL.render(TOOL.builtin_registry()) == table
