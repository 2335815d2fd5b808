"""Custom Rasa components. They run in the engine runtime (Python 3.10)."""
