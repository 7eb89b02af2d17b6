"""PDF rendering: plain data in, PDF bytes out. Never queries the store."""
