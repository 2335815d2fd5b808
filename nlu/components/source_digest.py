"""The digest of a component's source files, for Rasa's training cache.

Rasa keys a trained component by its config only: a component whose behaviour lives in code
(the SMS spelling rules, the n-gram features, the blend) adds the digest of that code to the
key (``fingerprint_addon``), so editing it retrains instead of restoring the old result.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def source_digest(*sources: str | Path) -> str:
    """SHA-256 of the files' bytes, in the order given."""
    sha = hashlib.sha256()
    for source in sources:
        sha.update(Path(source).read_bytes())
    return sha.hexdigest()
