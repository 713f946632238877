"""The admin panel's appointment pages."""

from __future__ import annotations


def add_views(admin) -> None:
    """Add the appointment views to the admin panel."""
