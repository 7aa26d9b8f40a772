"""Command line: one small module per command; only here do errors become exit codes."""
