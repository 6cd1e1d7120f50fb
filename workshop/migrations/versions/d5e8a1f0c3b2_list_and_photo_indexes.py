"""indexes for the job lists (centre or status, newest first) and for a record's photos

Revision ID: d5e8a1f0c3b2
Revises: c41d2a9e7b10
Create Date: 2026-12-05 00:10:00

"""

from alembic import op

revision = "d5e8a1f0c3b2"
down_revision = "c41d2a9e7b10"
branch_labels = None
depends_on = "a74659a1812a"


def upgrade():
    op.create_index("ix_jobs_centre_created", "jobs", ["centre_id", "created_at", "id"])
    op.create_index("ix_jobs_status_created", "jobs", ["status", "created_at", "id"])
    op.create_index("ix_photos_record_id", "photos", ["record_id"])


def downgrade():
    op.drop_index("ix_photos_record_id", table_name="photos")
    op.drop_index("ix_jobs_status_created", table_name="jobs")
    op.drop_index("ix_jobs_centre_created", table_name="jobs")
