"""Bounded streaming decoders. Pure: no I/O; errors only from fastzips3.errors."""
