"""The audit log: who did what, when, from where. Below the admin panel, which only shows it:
accounts, scheduling and admin all record into it (``app.audit.recording``)."""
