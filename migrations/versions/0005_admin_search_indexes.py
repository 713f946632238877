"""Indexes for the admin panel's title sort and text search.

The title sort ends on the id (a stable order from page to page), so its index does too. On
PostgreSQL, trigram indexes answer the list's search (``ILIKE '%word%'``) without reading every
appointment; SQLite has no such index and scans, which is fine at its scale.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Kept out of the models (they exist on PostgreSQL only); env.py leaves them out of autogenerate.
TRIGRAM_INDEXED = ('title', 'location', 'description')


def upgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_title')
        batch_op.create_index('ix_appointment_title_id', ['title', 'id'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for column in TRIGRAM_INDEXED:
            op.create_index(
                f'ix_appointment_{column}_trgm', 'appointment', [column],
                postgresql_using='gin', postgresql_ops={column: 'gin_trgm_ops'},
            )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for column in TRIGRAM_INDEXED:
            op.drop_index(f'ix_appointment_{column}_trgm', table_name='appointment')
        # The extension stays: other database objects may use it, and dropping needs ownership.

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_title_id')
        batch_op.create_index('ix_appointment_title', ['title'], unique=False)
