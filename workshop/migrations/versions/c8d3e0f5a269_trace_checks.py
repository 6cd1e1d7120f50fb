"""Uploaded traces checked in the background: one row per check, its result or its error code

Revision ID: c8d3e0f5a269
Revises: c41d2a9e7b10 (depends on 7e5723626b8e, which creates the EOL tables)
Create Date: 2026-12-05 06:05:00.000000

"""
from alembic import op
import sqlalchemy as sa

import workshop.columns


# revision identifiers, used by Alembic.
revision = 'c8d3e0f5a269'
down_revision = 'c41d2a9e7b10'
branch_labels = None
depends_on = '7e5723626b8e'


def upgrade():
    op.create_table(
        'trace_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('kit_id', sa.String(length=64), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('sha256', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('job_id', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('error_code', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('error_params', sa.JSON(), nullable=True),
        sa.Column('created_at', workshop.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', workshop.columns.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_trace_checks_user_id', 'trace_checks', ['user_id'])


def downgrade():
    op.drop_index('ix_trace_checks_user_id', table_name='trace_checks')
    op.drop_table('trace_checks')
