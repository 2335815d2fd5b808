"""Users, conversations and messages: the record of everything said, in both directions."""
