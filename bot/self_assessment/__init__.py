"""The stored self-assessment: kept only when the person said so (issue 4)."""
