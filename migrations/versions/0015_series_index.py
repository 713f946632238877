"""An index of the series alone, by owner and first start: the calendar finds a user's series
without walking all of their appointments (a partial index, on PostgreSQL and SQLite alike).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 02:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index(
            'ix_appointment_series_owner_id_start_at', ['owner_id', 'start_at'], unique=False,
            postgresql_where=sa.text('rrule IS NOT NULL'),
            sqlite_where=sa.text('rrule IS NOT NULL'),
        )


def downgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_series_owner_id_start_at')
