"""Calendar feed token and each user's longest appointment.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 04:30:05.430348

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('longest_appointment_seconds', sa.Integer(), server_default='0', nullable=False))

    # Every existing user gets a feed token and the true length of their longest appointment.
    connection = op.get_bind()
    user = sa.table('user', sa.column('id', sa.Integer), sa.column('calendar_token', sa.String))
    for (user_id,) in connection.execute(sa.select(user.c.id)).all():
        connection.execute(
            user.update().where(user.c.id == user_id).values(calendar_token=secrets.token_urlsafe(32))
        )
    appointment = sa.table(
        'appointment',
        sa.column('owner_id', sa.Integer),
        sa.column('start_at', sa.DateTime(timezone=True)),
        sa.column('end_at', sa.DateTime(timezone=True)),
    )
    longest = {}
    for owner_id, start, end in connection.execute(
        sa.select(appointment.c.owner_id, appointment.c.start_at, appointment.c.end_at)
    ):
        longest[owner_id] = max(longest.get(owner_id, 0), int((end - start).total_seconds()))
    user_span = sa.table('user', sa.column('id', sa.Integer), sa.column('longest_appointment_seconds', sa.Integer))
    for owner_id, seconds in longest.items():
        connection.execute(
            user_span.update().where(user_span.c.id == owner_id).values(longest_appointment_seconds=seconds)
        )

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('calendar_token', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_user_calendar_token'), ['calendar_token'])


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_calendar_token'), type_='unique')
        batch_op.drop_column('longest_appointment_seconds')
        batch_op.drop_column('calendar_token')
