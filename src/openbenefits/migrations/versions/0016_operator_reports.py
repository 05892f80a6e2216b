"""operator reports: the tenant's uses by time, its running contingents and its pending
amendments, indexed for the console's home page

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 08:27:48.754763
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("additional_module_contracts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_module_contracts_tenant_cancelation_status",
            ["tenant_id", "cancelation_status"],
            unique=False,
        )

    with op.batch_alter_table("benefit_counters", schema=None) as batch_op:
        batch_op.create_index(
            "ix_benefit_counters_tenant_period_end", ["tenant_id", "period_end"], unique=False
        )

    with op.batch_alter_table("benefit_usages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_benefit_usages_tenant_used_at", ["tenant_id", "used_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("benefit_usages", schema=None) as batch_op:
        batch_op.drop_index("ix_benefit_usages_tenant_used_at")

    with op.batch_alter_table("benefit_counters", schema=None) as batch_op:
        batch_op.drop_index("ix_benefit_counters_tenant_period_end")

    with op.batch_alter_table("additional_module_contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_module_contracts_tenant_cancelation_status")
