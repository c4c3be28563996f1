"""The login: entities (model), outbound interfaces (ports), use cases (service) and refusals (errors); no I/O."""
