"""The create form's one-time key on each appointment it made, unique per owner: the same form
sent twice (a double click, a request retried after a dropped connection) makes one appointment.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=22), nullable=True))
        batch_op.create_unique_constraint(
            'uq_appointment_owner_id_idempotency_key', ['owner_id', 'idempotency_key']
        )


def downgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_appointment_owner_id_idempotency_key', type_='unique')
        batch_op.drop_column('idempotency_key')
