"""Pieces every feature shares: database base, time zones, languages, errors, commands."""
