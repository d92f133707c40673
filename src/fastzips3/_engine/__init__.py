"""Between sources and the archive: stats, block cache, sequential streams, (later) prefetch."""
