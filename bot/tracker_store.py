"""Rasa's SQL tracker store with every event encrypted: runs inside the Rasa server.

``var/endpoints.yml`` names it (``tracker_store: type: bot.tracker_store.
EncryptedSQLTrackerStore``, with the keys of Rasa's own SQL store: ``bot/engine_config.py``)
and Rasa builds it with those keys (``_load_from_module_name_in_endpoint_config``). The
table is Rasa's (``events``) and so are ``sender_id``, ``type_name``, ``timestamp`` and
``id``, which Rasa's queries, the erasure (``bot/privacy/rights.py``) and the retention
purge (``bot/privacy/retention.py``) use; ``data``, the event's JSON, is a Fernet token,
and ``intent_name`` / ``action_name`` stay empty (why: ``bot/tracker_crypto.py``).

The keys come from ``TRACKER_ENCRYPTION_KEYS`` in the process's environment, never from the
endpoints file (the supervisor resolves them, the development key included, and hands them
to the Rasa server only). Engine runtime only (Python 3.10, Rasa 3.6, SQLAlchemy 1.4): the
standard library, Rasa and ``bot.tracker_crypto``. Outside the model's content hash
(``dialogues/build.py`` hashes ``nlu/components``): a change here needs a restart, not a
new model.

Errors. Rasa's agent wraps every tracker store in ``FailSafeTrackerStore``, which logs an
exception of ``retrieve`` or ``save`` (with its message) and carries on in memory. So keys
that do not open the stored events stop the engine at start (oldest and newest encrypted
rows checked); an event no key opens later (a row under a removed key) is logged by Rasa
with ``TrackerDecryptionError``'s message at each turn of that conversation, and nothing of
it is written after events that cannot be read.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_crypto import (
    PLAINTEXT_START,
    TrackerDecryptionError,
    TrackerKeyring,
    check_keys_open_stored_events,
)

logger = logging.getLogger(__name__)


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose ``events.data`` is encrypted with the tracker keys."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            # Keys first: nothing is created in the database with missing keys.
            self._keyring = TrackerKeyring.from_environment(os.environ)
            super().__init__(*args, **kwargs)
            with self.engine.connect() as connection:
                check_keys_open_stored_events(connection, self._keyring)
        except (AttributeError, ImportError) as error:
            # Rasa answers these by falling back to its in-memory tracker store with a mere
            # warning (``_load_from_module_name_in_endpoint_config``): stop instead.
            raise RuntimeError(
                f"the encrypted tracker store could not start ({type(error).__name__})"
            ) from error
        # Conversations with an event no key opens, in this process: nothing is written
        # after such events (see ``save``).
        self._unreadable: set[str] = set()
        self._plaintext_reported = False

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        # SQLTrackerStore._retrieve (Rasa 3.6.21), each event's JSON decrypted first.
        with self.session_scope() as session:
            rows = self._event_query(
                session,
                sender_id,
                fetch_events_from_all_sessions=fetch_events_from_all_sessions,
            ).all()
            try:
                events = [json.loads(self._keyring.read(row.data, row.id)) for row in rows]
            except TrackerDecryptionError:
                self._unreadable.add(sender_id)
                raise
            self._unreadable.discard(sender_id)
            if not self._plaintext_reported and any(
                isinstance(row.data, str) and row.data.startswith(PLAINTEXT_START) for row in rows
            ):
                self._plaintext_reported = True
                logger.warning(
                    "tracker events written before encryption were read (plain text in"
                    " events.data): run `python -m bot.cli rotate-tracker-key` to encrypt them"
                )
            if self.domain and events:
                return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
            return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        # SQLTrackerStore.save (Rasa 3.6.21), with the event's JSON encrypted and its
        # intent and action names left out.
        if tracker.sender_id in self._unreadable:
            # The stored events could not be read, so the tracker saved here does not
            # continue them: appending to them would corrupt the conversation.
            raise TrackerDecryptionError(
                "not saving a conversation whose stored events no key in"
                " TRACKER_ENCRYPTION_KEYS opens (see the error above)"
            )
        await self.stream_events(tracker)
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=None,
                        action_name=None,
                        data=self._keyring.encrypt(json.dumps(data)),
                    )
                )
            session.commit()
