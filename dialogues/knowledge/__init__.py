"""The knowledge base and facts: loading and checking (used by the build and the actions)."""
