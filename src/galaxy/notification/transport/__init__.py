"""The stream consumer that feeds intents to the domain."""
