"""Test helpers for mailbot: real mail servers for integration tests and demos."""
