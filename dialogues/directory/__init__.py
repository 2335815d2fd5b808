"""The partner directory: where to go (Mission locale, CIO, CFA...) for a place."""
