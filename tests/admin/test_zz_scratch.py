from datetime import datetime, timedelta
from app.extensions import db
from app.scheduling import series as sc
from app.scheduling.models import Appointment
from tests.support.factories import make_appointment
from tests.support.zones import UTC, BERLIN

def test_scratch(user):
    start = datetime(2026, 4, 6, 9, tzinfo=BERLIN)
    s = make_appointment(user, title="Yoga", start=start, end=start + timedelta(hours=1),
                         rrule="FREQ=WEEKLY;BYDAY=MO", series_timezone="Europe/Berlin")
    rid = s.start + timedelta(days=7)
    e = sc.make_exception(s, rid); db.session.commit()
    s.rrule = None; s.series_timezone = None
    sc.change_series(s, timedelta(0), None)
    db.session.commit()
