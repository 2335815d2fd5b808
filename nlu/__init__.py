"""NLU: pipeline configuration, training data and custom components (run inside the engine)."""
