"""No message text in the logs: what people write stays in the database, never in the
stack's log (gateway, Rasa server, action server), whatever path the message takes."""

from __future__ import annotations

from tests.utils.chat import ChatClient, ask_for_a_person
from tests.utils.stack import Stack

# Distinctive words no log line would hold by chance.
WRITTEN = (
    "Zéphyrine m'a parlé du CFA de Trifouillis, c'est quoi un CFA",
    "mon beau-père Anatole me frappe le soir",
    "j'habite 14 rue des Glycines à Montcuq",
    "je m'appelle Kévinou Bidochon",
)


def test_the_stack_log_holds_none_of_the_messages(stack: Stack) -> None:
    chat = ChatClient(stack.base_url)
    try:
        for text in WRITTEN[:1]:
            chat.send(text)
        other = ChatClient(stack.base_url)
        ask_for_a_person(other)
        other.send(payload="/handoff_share_yes")
        other.send(WRITTEN[2])  # held for the référent
        other.send(WRITTEN[3])
        other.close()
        chat.send(WRITTEN[1])  # urgent: numbers, handoff
    finally:
        chat.close()
    log = stack.log()
    # The log really holds all three processes' output (each line prefixed with its name).
    for process in ("gateway", "rasa", "actions"):
        assert f"\n{process}" in log, f"no {process} output in the stack log"
    for text in WRITTEN:
        for word in ("Zéphyrine", "Trifouillis", "Anatole", "Glycines", "Montcuq", "Bidochon"):
            if word in text:
                assert word not in log, f"{word!r} from a message is in the log"
