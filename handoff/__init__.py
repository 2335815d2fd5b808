"""Human handoff: triggers, queue, référent console and notifications."""
