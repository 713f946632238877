"""uWSGI's cron sends the reminders: two hosts running it at the same minute against one
database send each reminder exactly once, over real SMTP."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.core.test_serving import SECRET, serving_env, start_uwsgi, stop_uwsgi
from tests.support.factories import make_appointment, make_user
from tests.support.network import free_port
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.uwsgi
# The cron runs at the start of each minute; then the command needs a second or two.
WAIT_SECONDS = 75


def test_two_hosts_timers_send_each_reminder_once(app, database_url, tmp_path):
    start = datetime.now(timezone.utc) + timedelta(minutes=30)
    owner = make_user("dora@example.com", locale="de", timezone="Europe/Berlin")
    for number in range(3):
        make_appointment(owner, title=f"Termin {number}", start=start, reminder_minutes=60)

    with SmtpSink() as sink:
        hosts = []
        try:
            for name in ("host-a", "host-b"):
                folder = tmp_path / name
                folder.mkdir()
                env = serving_env(folder)
                env.update({
                    "SCHED_HTTP": f"127.0.0.1:{free_port()}",
                    "DATABASE_URL": database_url,
                    "SECRET_KEY": SECRET,
                    "SECURITY_PASSWORD_SALT": SECRET[::-1],
                    "MAIL_SERVER": "127.0.0.1",
                    "MAIL_PORT": str(sink.port),
                })
                env.pop("SCHED_REMINDERS", None)
                hosts.append((start_uwsgi(env, folder), folder))
            deadline = time.monotonic() + WAIT_SECONDS
            while len(sink.received) < 3 and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(3)  # room for a duplicate, were there one
        finally:
            for process, folder in hosts:
                stop_uwsgi(process, folder)

    subjects = sorted(str(message["Subject"]).strip() for message in sink.received)
    assert len(subjects) == 3, subjects
    assert [s.split(",")[0] for s in subjects] == [f"Erinnerung: Termin {n}" for n in range(3)]
    assert all(message["To"] == "dora@example.com" for message in sink.received)
    for _, folder in hosts:  # both hosts' timers ran the command
        assert "send-reminders" in (folder / "uwsgi.log").read_text()
