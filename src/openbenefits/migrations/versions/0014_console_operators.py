"""console operators: accounts (argon2 password hashes, a role, the lockout counter) and the
studios a studio manager manages

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 05:47:34.081128
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbenefits.kit.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "TENANT_ADMIN",
                "STUDIO_MANAGER",
                "LOYALTY_MANAGER",
                "READ_ONLY",
                name="operatorrole",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("locked_until", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "password_changed_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "created_at",
            openbenefits.kit.db.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint("failed_sign_ins >= 0", name=op.f("ck_operators_failed_sign_ins")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_operators_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("email", name=op.f("uq_operators_email")),
    )
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operators_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "operator_studios",
        sa.Column(
            "operator_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "studio_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_studios_operator_id_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["studio_id"], ["studios.id"], name=op.f("fk_operator_studios_studio_id_studios")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_operator_studios_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("operator_id", "studio_id", name=op.f("pk_operator_studios")),
    )
    with op.batch_alter_table("operator_studios", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operator_studios_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("operator_studios", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_studios_tenant_id"))

    op.drop_table("operator_studios")
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operators_tenant_id"))

    op.drop_table("operators")
