"""E-mail reminders: the lead time per appointment, when it is due and when it went out, and
each user's default lead time.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 07:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('remind_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminder_sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_appointment_remind_at', ['remind_at'], unique=False)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_minutes_default', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('reminder_minutes_default')

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_remind_at')
        batch_op.drop_column('reminder_sent_at')
        batch_op.drop_column('remind_at')
        batch_op.drop_column('reminder_minutes')
