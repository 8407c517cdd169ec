"""Sandbox operation handlers, one module per resource family."""
