"""The admin panel's user and role pages."""

from __future__ import annotations


def add_views(admin) -> None:
    """Add the user and role views to the admin panel."""
