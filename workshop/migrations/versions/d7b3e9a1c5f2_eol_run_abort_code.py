"""EOL runs: a code saying why a run was aborted (e.g. its bench agent died)

Revision ID: d7b3e9a1c5f2
Revises: c41d2a9e7b10
Create Date: 2026-12-05 00:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "d7b3e9a1c5f2"
down_revision = "c41d2a9e7b10"
branch_labels = None
# eol_runs is created on another branch: this one must come after it.
depends_on = "7e5723626b8e"


def upgrade():
    with op.batch_alter_table("eol_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("abort_code", sa.String(length=32), nullable=False, server_default="")
        )


def downgrade():
    with op.batch_alter_table("eol_runs", schema=None) as batch_op:
        batch_op.drop_column("abort_code")
