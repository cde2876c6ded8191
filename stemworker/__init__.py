"""Mux Minus stemworker: a FastAPI service around the demucs CLI (never Django)."""
