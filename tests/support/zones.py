"""The time zones the tests write their moments in."""

from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")  # the zone of the `user` fixture (tests/conftest.py)
NEW_YORK = ZoneInfo("America/New_York")
