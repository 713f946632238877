"""When a user's calendar last changed, deletions included: the feed's Last-Modified.

Set to the latest change of each user's appointments so far; from now on every write to an
appointment, and every change of the name or zone the feed shows, moves it on.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 19:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('calendar_changed', sa.DateTime(timezone=True), nullable=True)
        )
    op.execute(
        'UPDATE "user" SET calendar_changed = '
        '(SELECT max(appointment.modified) FROM appointment WHERE appointment.owner_id = "user".id)'
    )


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('calendar_changed')
