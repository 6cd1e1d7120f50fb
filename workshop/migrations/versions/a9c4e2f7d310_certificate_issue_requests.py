"""Certificates issued by a background worker: one row per request to issue

Revision ID: a9c4e2f7d310
Revises: b7c2d9e4f158
Create Date: 2026-12-06 03:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import workshop.columns


# revision identifiers, used by Alembic.
revision = 'a9c4e2f7d310'
down_revision = 'b7c2d9e4f158'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'certificate_issue_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('pending_job_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('rq_job_id', sa.String(length=64), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', workshop.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', workshop.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column('certificate_id', sa.Integer(), nullable=True),
        sa.Column('error_code', sa.String(length=40), nullable=False),
        sa.Column('error_params', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ['job_id'], ['jobs.id'], name='fk_certificate_issue_requests_job_id_jobs'
        ),
        sa.ForeignKeyConstraint(
            ['pending_job_id'],
            ['jobs.id'],
            name='fk_certificate_issue_requests_pending_job_id_jobs',
        ),
        sa.ForeignKeyConstraint(
            ['requested_by_id'],
            ['users.id'],
            name='fk_certificate_issue_requests_requested_by_id_users',
        ),
        sa.ForeignKeyConstraint(
            ['certificate_id'],
            ['certificates.id'],
            name='fk_certificate_issue_requests_certificate_id_certificates',
        ),
        sa.PrimaryKeyConstraint('id', name='pk_certificate_issue_requests'),
        sa.UniqueConstraint(
            'pending_job_id', name='uq_certificate_issue_requests_pending_job_id'
        ),
    )
    op.create_index(
        'ix_certificate_issue_requests_job_id', 'certificate_issue_requests', ['job_id']
    )


def downgrade():
    op.drop_index(
        'ix_certificate_issue_requests_job_id', table_name='certificate_issue_requests'
    )
    op.drop_table('certificate_issue_requests')
