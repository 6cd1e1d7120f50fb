"""Engineers' signing keys: certificate and encrypted private key per engineer

Revision ID: d9e4f1a6b37c
Revises: c41d2a9e7b10 (depends on bd038b7732a7, which creates the certificates)
Create Date: 2026-12-05 06:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import workshop.columns


# revision identifiers, used by Alembic.
revision = 'd9e4f1a6b37c'
down_revision = 'c41d2a9e7b10'
branch_labels = None
depends_on = 'bd038b7732a7'


def upgrade():
    op.create_table(
        'signing_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('certificate_pem', sa.Text(), nullable=False),
        sa.Column('key_pem', sa.Text(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False, server_default=''),
        sa.Column('not_after', workshop.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('created_at', workshop.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', workshop.columns.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_signing_keys_user_id', 'signing_keys', ['user_id'])


def downgrade():
    op.drop_index('ix_signing_keys_user_id', table_name='signing_keys')
    op.drop_table('signing_keys')
