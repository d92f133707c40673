"""Pure ZIP format layer: bytes in, records out. No I/O, no threads, no clock."""
