"""Reminder e-mails: chosen per appointment with a profile default, sent once when due, in the
owner's language and time zone, even with several senders at the same moment."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.scheduling import reminders
from app.scheduling.models import Appointment
from app.scheduling.reminders import send_reminders
from tests.support.factories import make_appointment, make_user
from tests.support.zones import UTC


def soon(hours: float = 1) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)


def test_the_form_offers_reminders_and_the_profile_sets_the_default(app, logged_in, user):
    response = logged_in.submit("/account/", {
        "full_name": "Olive Owner", "locale": "en", "timezone": "Europe/Berlin",
        "reminder_minutes_default": "60",
    })
    assert response.status_code == 302
    form = logged_in.get("/appointments/create/").get_data(as_text=True)
    assert '<option selected value="60">1 hour before</option>' in form

    response = logged_in.submit("/appointments/create/", {
        "title": "Dentist", "start": "2030-05-04T10:00", "end": "2030-05-04T11:00",
        "reminder_minutes": "1440",
    })
    assert response.status_code == 302
    appointment = db.session.scalar(select(Appointment).filter_by(title="Dentist"))
    assert appointment.reminder_minutes == 1440
    # 10:00 in Berlin (summer time) is 08:00 UTC; a day before.
    assert appointment.remind_at == datetime(2030, 5, 3, 8, tzinfo=UTC)
    assert "1 day before" in logged_in.get(f"/appointments/{appointment.id}/").get_data(as_text=True)


def test_an_unknown_reminder_choice_is_refused_next_to_the_field(app, logged_in):
    response = logged_in.submit("/appointments/create/", {
        "title": "Dentist", "start": "2030-05-04T10:00", "end": "2030-05-04T11:00",
        "reminder_minutes": "7",
    })
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert db.session.scalar(select(Appointment).filter_by(title="Dentist")) is None


def test_due_reminders_are_sent_once_in_the_owners_language_and_zone(app, outbox):
    dora = make_user("dora@example.com", locale="de", timezone="Europe/Berlin", full_name="Dora")
    start = soon(0.5)
    make_appointment(dora, title="Zahnarzt", start=start, end=start + timedelta(hours=1),
                     reminder_minutes=60, location="Hauptstraße 1")
    make_appointment(dora, title="Not yet", start=soon(5), reminder_minutes=60)
    make_appointment(dora, title="No reminder", start=soon(0.5))

    assert send_reminders() == 1
    (message,) = outbox
    assert message.to == ["dora@example.com"]
    local = start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert "Zahnarzt" in message.subject and local.strftime("%H:%M") in message.subject
    assert "Erinnerung" in message.subject  # German
    assert "Hauptstraße 1" in message.body and "http://127.0.0.1:5000/appointments/" in message.body
    assert send_reminders() == 0 and len(outbox) == 1  # never twice


def test_no_reminder_after_the_start_and_a_moved_appointment_reminds_again(app, outbox):
    owner = make_user("owen@example.com")
    make_appointment(owner, title="Gone", start=soon(-1), reminder_minutes=10)
    moved = make_appointment(owner, title="Moved", start=soon(0.1), reminder_minutes=30)
    assert send_reminders() == 1
    moved.start, moved.end = soon(0.2), soon(0.3)
    db.session.commit()
    assert moved.reminder_sent_at is None
    assert send_reminders() == 1
    assert [m.subject.split(",")[0] for m in outbox] == ["Reminder: Moved", "Reminder: Moved"]


def test_a_failed_send_is_tried_again_next_time(app, outbox, monkeypatch):
    owner = make_user("owen@example.com")
    appointment = make_appointment(owner, title="Flaky", start=soon(0.2), reminder_minutes=30)

    def broken(self, *args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(reminders.EmailMessage, "send", broken)
    assert send_reminders() == 0
    db.session.refresh(appointment)
    assert appointment.reminder_sent_at is None
    monkeypatch.undo()
    assert send_reminders() == 1 and len(outbox) == 1


def test_senders_running_at_the_same_moment_send_each_reminder_once(app, outbox):
    owner = make_user("owen@example.com")
    for number in range(20):
        make_appointment(owner, title=f"Meeting {number}", start=soon(0.5), reminder_minutes=60)
    db.session.remove()
    start = threading.Barrier(4)
    counts = []

    def sender():
        with app.app_context():
            start.wait()
            counts.append(send_reminders())
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(counts) == 20
    assert sorted(m.subject.split(",")[0] for m in outbox) == sorted(
        f"Reminder: Meeting {n}" for n in range(20)
    )


def test_the_command_sends_what_is_due(app, outbox):
    owner = make_user("owen@example.com")
    make_appointment(owner, title="Call", start=soon(0.2), reminder_minutes=30)
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 0 and "1 reminders sent." in result.output
    assert len(outbox) == 1


# --- Series: a reminder for each occurrence --------------------------------------------------


def daily_series(owner, title="Stand-up", **values) -> Appointment:
    """Every day at 09:00 Berlin time from Monday 7 January 2030 (08:00 UTC), an hour ahead."""
    start = datetime(2030, 1, 7, 8, tzinfo=UTC)
    return make_appointment(owner, title=title, start=start, end=start + timedelta(minutes=15),
                            rrule="FREQ=DAILY", series_timezone="Europe/Berlin",
                            reminder_minutes=60, **values)


def on_day(day: int, hour: int = 7, minute: int = 30) -> datetime:
    return datetime(2030, 1, day, hour, minute, tzinfo=UTC)


def subjects(outbox) -> list[str]:
    return [m.subject.replace("\u2009", " ").replace("\u202f", " ") for m in outbox]


def test_a_series_reminds_of_each_occurrence_once(app, outbox):
    owner = make_user("owen@example.com", timezone="Europe/Berlin")
    series = daily_series(owner)
    assert series.remind_at == datetime(2030, 1, 7, 7, tzinfo=UTC)
    assert send_reminders(now=on_day(7, 6)) == 0  # not yet
    assert send_reminders(now=on_day(7)) == 1
    assert send_reminders(now=on_day(7)) == 0  # never twice
    assert send_reminders(now=on_day(8)) == 1
    assert subjects(outbox) == [
        "Reminder: Stand-up, Mon, Jan 7, 2030, 9:00 – 9:15 AM",
        "Reminder: Stand-up, Tue, Jan 8, 2030, 9:00 – 9:15 AM"]
    assert "/appointments/1/?occurrence=20300108T080000Z" in outbox[1].body
    db.session.refresh(series)
    assert series.remind_at == datetime(2030, 1, 9, 7, tzinfo=UTC) and series.version == 1


def test_a_deleted_occurrence_is_skipped_and_a_changed_one_reminds_at_its_own_time(app, outbox):
    from app.scheduling.models import ExcludedOccurrence

    owner = make_user("owen@example.com", timezone="Europe/Berlin")
    series = daily_series(owner)
    db.session.add(ExcludedOccurrence(series_id=series.id, recurrence_id=on_day(8, 8, 0)))
    make_appointment(owner, title="Stand-up, later", start=on_day(9, 12, 0),
                     end=on_day(9, 12, 15), series_id=series.id,
                     recurrence_id=on_day(9, 8, 0), reminder_minutes=30)
    assert send_reminders(now=on_day(7)) == 1
    assert send_reminders(now=on_day(8)) == 0  # deleted
    assert send_reminders(now=on_day(9)) == 0  # moved to noon
    assert send_reminders(now=on_day(9, 11, 30)) == 1
    assert send_reminders(now=on_day(10)) == 1
    sent = subjects(outbox)
    assert len(sent) == 3 and "Mon, Jan 7" in sent[0]
    assert sent[1] == "Reminder: Stand-up, later, Wed, Jan 9, 2030, 1:00 – 1:15 PM"
    assert sent[2].startswith("Reminder: Stand-up, Thu, Jan 10")


def test_a_failed_reminder_of_an_occurrence_is_tried_again(app, outbox, monkeypatch):
    owner = make_user("owen@example.com")
    series = daily_series(owner)

    def broken(self, *args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(reminders.EmailMessage, "send", broken)
    assert send_reminders(now=on_day(7)) == 0
    db.session.refresh(series)
    assert series.remind_at == datetime(2030, 1, 7, 7, tzinfo=UTC)
    monkeypatch.undo()
    assert send_reminders(now=on_day(7)) == 1 and "Jan 7" in outbox[0].subject


def test_senders_at_the_same_moment_remind_of_each_occurrence_once(app, outbox):
    owner = make_user("owen@example.com")
    for number in range(10):
        daily_series(owner, title=f"Series {number}")
    db.session.remove()
    start = threading.Barrier(4)
    counts = []

    def sender():
        with app.app_context():
            start.wait()
            counts.append(send_reminders(now=on_day(7)))
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(counts) == 10 and len(outbox) == 10


def test_changing_a_series_time_looks_for_its_next_reminder_again(app, outbox):
    owner = make_user("owen@example.com")
    series = daily_series(owner)
    series.title = "Renamed"
    db.session.commit()
    assert series.remind_at == datetime(2030, 1, 7, 7, tzinfo=UTC)
    series.reminder_minutes = 30
    db.session.commit()
    assert series.remind_at == datetime(2030, 1, 7, 7, 30, tzinfo=UTC)
    series.reminder_minutes = None
    db.session.commit()
    assert series.remind_at is None and send_reminders(now=on_day(7, 7, 45)) == 0
