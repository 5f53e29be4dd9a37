"""Google's and Anthropic's own SDKs against the emulator over real HTTP."""
