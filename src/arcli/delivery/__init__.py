"""Delivering generated documents (email)."""
