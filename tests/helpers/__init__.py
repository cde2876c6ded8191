"""Helpers shared by the test modules; fixtures live in the conftest files."""
