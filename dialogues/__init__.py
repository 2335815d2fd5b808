"""Dialogue: domain, responses, rules, stories, knowledge base and custom actions."""
