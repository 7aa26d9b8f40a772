"""Offline training and evaluation. Imports core and adapters, never runners."""
