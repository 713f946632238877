"""Each user's longest appointment in a 64-bit column: appointments may span the calendar's
three centuries, more seconds than a 32-bit integer holds (found by the property tests).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column(
            'longest_appointment_seconds', existing_type=sa.Integer(), type_=sa.BigInteger(),
            existing_nullable=False, existing_server_default='0',
        )


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column(
            'longest_appointment_seconds', existing_type=sa.BigInteger(), type_=sa.Integer(),
            existing_nullable=False, existing_server_default='0',
        )
