"""The web side of the gateway: chat API, chat page, health and admin endpoints."""
