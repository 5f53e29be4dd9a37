"""``python -m engine.emulator``: run the emulator CLI."""

from engine.emulator.server import main

raise SystemExit(main())
