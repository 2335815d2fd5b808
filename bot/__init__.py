"""Relais gateway: channels, conversation routing, i18n, appointments and the supervisor."""
