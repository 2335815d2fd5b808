"""Rasa component: rewrite French SMS spelling before tokenisation.

It runs first in the pipeline (see nlu/config.yml); training data entity offsets are
moved with the text so annotations stay aligned.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components import normalise as normalise_module
from nlu.components.normalise import normalise, shift_offset
from nlu.components.source_digest import source_digest


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SmsNormaliser(GraphComponent):
    """Turns "jsuis", "c koi", "jsp", "pk", "g" into plain French."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SmsNormaliser":
        return cls()

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        # Rasa's training cache keys a component by its config only: without this, editing
        # the spelling rules alone would restore featurizers and DIET trained on the old
        # normalised text. The rules' source is part of what this component computes.
        return source_digest(normalise_module.__file__)

    @staticmethod
    def _normalise_message(message: Message) -> None:
        text: Optional[str] = message.get(TEXT)
        if not text:
            return
        new_text, shifts = normalise(text)
        if not shifts:
            return
        message.set(TEXT, new_text)
        entities = message.get(ENTITIES) or []
        for entity in entities:
            entity["start"] = shift_offset(entity["start"], shifts)
            entity["end"] = shift_offset(entity["end"], shifts)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            if message.get(TEXT) and not message.get("action_name"):
                self._normalise_message(message)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalise_message(message)
        return messages
