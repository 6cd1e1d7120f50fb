"""Evidence bundles built in the background: one row per request, the ZIP stored by SHA-256

Revision ID: b7c2d9e4f158
Revises: c41d2a9e7b10 (depends on bd038b7732a7, which creates the certificates)
Create Date: 2026-12-05 06:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import workshop.columns


# revision identifiers, used by Alembic.
revision = 'b7c2d9e4f158'
down_revision = 'c41d2a9e7b10'
branch_labels = None
depends_on = 'bd038b7732a7'


def upgrade():
    op.create_table(
        'evidence_bundles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('certificate_id', sa.Integer(), sa.ForeignKey('certificates.id'), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('job_id', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('requested_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('requested_at', workshop.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', workshop.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('size', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('error', sa.Text(), nullable=False, server_default=''),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_evidence_bundles_certificate_id', 'evidence_bundles', ['certificate_id'])


def downgrade():
    op.drop_index('ix_evidence_bundles_certificate_id', table_name='evidence_bundles')
    op.drop_table('evidence_bundles')
