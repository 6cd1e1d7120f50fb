"""instruments (a centre's calibrated measuring instruments) and step_records.instruments

Revision ID: b5d9f3a2c817
Revises: c41d2a9e7b10
Create Date: 2026-12-05 12:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import workshop.columns


# revision identifiers, used by Alembic.
revision = 'b5d9f3a2c817'
down_revision = 'c41d2a9e7b10'
branch_labels = None
depends_on = 'a74659a1812a'


def upgrade():
    op.create_table('instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('make_model', sa.String(length=120), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('certificate_number', sa.String(length=64), nullable=False),
    sa.Column('calibrated_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('certificate_sha256', sa.String(length=64), nullable=False),
    sa.Column('certificate_type', sa.String(length=32), nullable=False),
    sa.Column('registered_by_id', sa.Integer(), nullable=False),
    sa.Column('registered_at', workshop.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', workshop.columns.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['centre_id'], ['centres.id'], ),
    sa.ForeignKeyConstraint(['registered_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('centre_id', 'kind', 'serial')
    )
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruments_centre_id'), ['centre_id'], unique=False)
    with op.batch_alter_table('step_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instruments', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('step_records', schema=None) as batch_op:
        batch_op.alter_column('instruments', server_default=None)


def downgrade():
    with op.batch_alter_table('step_records', schema=None) as batch_op:
        batch_op.drop_column('instruments')
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instruments_centre_id'))
    op.drop_table('instruments')
