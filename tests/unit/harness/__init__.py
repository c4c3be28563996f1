"""In-process tests of the generic test harness (tests/harness)."""
