"""Galaxy services. Each subpackage is one service; galaxy.common is their shared plumbing."""
