"""Notification Service: turns notification intents into pushes and template-mode mail."""
