"""Bounded streaming decoders. Pure: no I/O; errors only from zipseek.errors."""
