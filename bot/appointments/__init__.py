"""Appointments and reminders: set by a référent, reminded before, checked after.

- ``models``: the tables (appointments, options, reminders, leader lease, contact
  preferences, APScheduler's job table).
- ``planning``: when each reminder goes (pure functions: local times, DST, quiet hours).
- ``service``: appointment changes (the only writer of appointments and their options).
- ``reminders`` (rows written with their appointment, check-ins) and ``sending`` (claim,
  skip, defer, wake-ups): the only writers of reminder rows.
- ``preferences``: ``stop_messages``.
- ``scheduler`` and ``leader``: the process that sends due reminders, one at a time.
- ``texts``, ``payloads``, ``buttons``: what the person reads and taps.
"""
