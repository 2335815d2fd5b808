"""Fernet key lists, shared by both encryptions at rest: the application database's free
texts (``bot/crypto.py``, the gateway) and Rasa's tracker events (``bot/tracker_crypto.py``,
inside the Rasa server too). The standard library and ``cryptography`` only, so that both
runtimes import it (the engine's has no pydantic-settings, hence no ``bot.config``).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def parse_keys(raw: str | None) -> list[str]:
    """The keys of a comma-separated list, in order (empty when unset)."""
    return [key.strip() for key in (raw or "").split(",") if key.strip()]


def key_set(
    keys: Sequence[str], variable: str, error: type[Exception]
) -> tuple[Fernet, MultiFernet]:
    """The key that encrypts (the first) and the set that decrypts (all), or ``error``
    naming the variable and the position of a malformed key (never the key itself)."""
    if not keys:
        raise error(f"no encryption key given ({variable})")
    fernets: list[Fernet] = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            # ``from None``: the underlying error must not carry the key into a log.
            raise error(
                f"{variable}: key {position} is not a Fernet key (32 bytes, url-safe base64)"
            ) from None
    return fernets[0], MultiFernet(fernets)


def token_bytes(value: object) -> bytes:
    """A stored value as token bytes; anything that cannot be a token (NULL, plain text
    with accents, a driver's bytes) is an invalid token, like a wrong key."""
    if not isinstance(value, str):
        raise InvalidToken
    try:
        return value.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidToken from None
