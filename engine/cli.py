"""The ``vertexlate`` command: validate specs, list models, run the emulator, the demo or the proxy."""

from __future__ import annotations

import sys


def _models(argv: list[str]) -> int:
    from engine.registry import default_registry

    for family in default_registry().families:
        for entry in family.models:
            ops = sorted(o for o in family.operations if entry.supports(o))
            print(f"{family.name:<22} vertex_ai/{entry.pattern:<45} {', '.join(ops)}")
    return 0


def _emulator(argv: list[str]) -> int:
    from engine.emulator import main

    return main(argv)


def _demo(argv: list[str]) -> int:
    from engine.demo import main

    return main(argv)


def _serve(argv: list[str]) -> int:
    from engine.proxy import main

    return main(argv)


def _validate(argv: list[str]) -> int:
    from engine.validation import main

    return main(argv)


COMMANDS = {
    "validate": (_validate, "validate spec files (built-in plus given paths)"),
    "models": (_models, "list the model names the specs serve"),
    "emulator": (_emulator, "run the local Vertex AI emulator"),
    "demo": (_demo, "guided tour of the engine against the built-in emulator"),
    "serve": (_serve, "run the OpenAI-compatible proxy (--config config.yaml)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: vertexlate <command> [options]\n\ncommands:")
        for name, (_, text) in COMMANDS.items():
            print(f"  {name:<10} {text}")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    command, _ = COMMANDS[argv[0]]
    return command(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
