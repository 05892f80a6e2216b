"""check-ins, studio switches, weighings

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 12:09:53.582474
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbenefits.kit.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "check_ins",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "studio_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("checked_in_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_out_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_check_ins_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["studio_id"], ["studios.id"], name=op.f("fk_check_ins_studio_id_studios")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_check_ins_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_ins")),
    )
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.create_index("ix_check_ins_customer_id_id", ["customer_id", "id"], unique=False)

    op.create_table(
        "studio_switches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "from_studio_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "to_studio_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("switch_date", sa.Date(), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column(
            "recorded_at",
            openbenefits.kit.db.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_studio_switches_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["from_studio_id"],
            ["studios.id"],
            name=op.f("fk_studio_switches_from_studio_id_studios"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_studio_switches_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["to_studio_id"], ["studios.id"], name=op.f("fk_studio_switches_to_studio_id_studios")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studio_switches")),
    )
    with op.batch_alter_table("studio_switches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_studio_switches_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "weighings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "studio_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("measured_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("height", sa.Double(), nullable=True),
        sa.Column("raw_results", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_weighings_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["studio_id"], ["studios.id"], name=op.f("fk_weighings_studio_id_studios")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_weighings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weighings")),
    )
    with op.batch_alter_table("weighings", schema=None) as batch_op:
        batch_op.create_index("ix_weighings_customer_id_id", ["customer_id", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("weighings", schema=None) as batch_op:
        batch_op.drop_index("ix_weighings_customer_id_id")

    op.drop_table("weighings")
    with op.batch_alter_table("studio_switches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_studio_switches_customer_id"))

    op.drop_table("studio_switches")
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.drop_index("ix_check_ins_customer_id_id")

    op.drop_table("check_ins")
