"""Async loops: the only code that reads the clock or combines adapters."""
