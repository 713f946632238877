"""What happens to accounts, told to whoever listens (the audit log, app/audit/recording.py).

Each signal is sent with the app as sender, as Flask-Security's are, and the account as
``user``, before the sender commits: a receiver adds what it records to the session and the
sender's commit saves it with the change.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# An account reached LOCKOUT_ATTEMPTS failed logins in a row and is now locked (lockout.py).
account_locked = _signals.signal("account-locked")
