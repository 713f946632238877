"""Accounts: users, roles, Flask-Security wiring and the profile page."""
