"""Afterdesk: after-sales service and complaint management."""

__version__ = "0.1.0"
