"""Another request's write, committed at the worst moment of the request under test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db


@contextmanager
def meanwhile(write: Callable[[Session], None]) -> Iterator[list]:
    """Run ``write`` in a session of its own and commit it just before the next request writes.

    That is after the request has read what it is about to change, and before its first
    INSERT, UPDATE or DELETE reaches the database: the moment a second worker or host can slip
    in. Yields a list that holds True once ``write`` has run. Call it inside the test's app
    context; the test's own session never triggers it.
    """
    done: list = []
    test_session = db.session()

    def write_now(session: Session) -> None:
        if done or session is test_session or session.info.get("meanwhile"):
            return
        done.append(True)
        with Session(db.engine, info={"meanwhile": True}) as other:
            write(other)
            other.commit()

    def before_flush(session, flush_context, instances) -> None:
        write_now(session)

    def do_orm_execute(state) -> None:
        if state.is_update or state.is_delete or state.is_insert:
            write_now(state.session)

    event.listen(Session, "before_flush", before_flush)
    event.listen(Session, "do_orm_execute", do_orm_execute)
    try:
        yield done
    finally:
        event.remove(Session, "before_flush", before_flush)
        event.remove(Session, "do_orm_execute", do_orm_execute)
