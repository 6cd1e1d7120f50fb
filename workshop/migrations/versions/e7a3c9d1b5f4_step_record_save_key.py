"""step_records.save_key: one record per save, however often the tablet retries it

Revision ID: e7a3c9d1b5f4
Revises: d5e8a1f0c3b2
Create Date: 2026-12-05 00:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e7a3c9d1b5f4"
down_revision = "d5e8a1f0c3b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("step_records") as batch:
        batch.add_column(sa.Column("save_key", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_step_records_save_key", ["save_key"])


def downgrade():
    with op.batch_alter_table("step_records") as batch:
        batch.drop_constraint("uq_step_records_save_key", type_="unique")
        batch.drop_column("save_key")
