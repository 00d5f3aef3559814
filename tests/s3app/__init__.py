"""A small S3-compatible application behind sigv4kit's ASGI middleware (tests only)."""
