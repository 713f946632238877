"""What the admin panel keeps of its own: the translation console's edit history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.db import UTCDateTime, now_utc
from app.extensions import Model


class TranslationEdit(Model):
    """One change to a catalog entry, made in the translation console: kept to show and revert."""

    __tablename__ = "translation_edit"
    __table_args__ = (Index("ix_translation_edit_language_key", "language", "key", "created"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    language: Mapped[str] = mapped_column(String(16))
    # app.core.catalogs.message_key: the entry's source text and context, hashed.
    key: Mapped[str] = mapped_column(String(16))
    msgid: Mapped[str] = mapped_column(Text)
    # How it was made: "edit", "revert" or "upload".
    how: Mapped[str] = mapped_column(String(16), default="edit")
    # The translation before and after, one string per plural form.
    old: Mapped[list] = mapped_column(JSON, default=list)
    new: Mapped[list] = mapped_column(JSON, default=list)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_email: Mapped[str] = mapped_column(String(255), default="")

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<TranslationEdit {self.id} {self.language} {self.key}>"
