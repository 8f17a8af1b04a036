"""Offline voice assistant for questions about muscle twitching (fasciculation)."""

__version__ = "0.1.0"
