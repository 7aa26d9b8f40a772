"""Effects: one module per outside system. Library outcomes become mailbot errors here."""
