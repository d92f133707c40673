"""Byte sources: I/O only. Each fetches ranges of one object and never parses them."""
