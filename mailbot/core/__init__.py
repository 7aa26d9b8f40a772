"""The pure core: parse, autoreply, correlate, classify, decide, sla, render.

Nothing in here does I/O, touches asyncio, sockets or the database, or reads the clock.
"""
