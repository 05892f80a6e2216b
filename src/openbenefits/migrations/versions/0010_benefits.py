"""benefits

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 14:12:22.286263
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbenefits.kit.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "benefits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cross_facility", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            openbenefits.kit.db.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_benefits_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_benefits_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefits")),
        sa.UniqueConstraint("partner_id", "key", name=op.f("uq_benefits_partner_id_key")),
    )
    with op.batch_alter_table("benefits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_benefits_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "benefit_grants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "benefit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rate_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("module_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=True),
        sa.Column(
            "period",
            sa.Enum(
                "DAY",
                "WEEK",
                "MONTH",
                "YEAR",
                "TERM",
                name="contingentperiod",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            openbenefits.kit.db.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("removed_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(rate_id IS NULL) <> (module_id IS NULL)", name=op.f("ck_benefit_grants_one_source")
        ),
        sa.CheckConstraint(
            "(uses IS NULL) = (period IS NULL)", name=op.f("ck_benefit_grants_uses_per_period")
        ),
        sa.CheckConstraint(
            "uses IS NULL OR uses > 0", name=op.f("ck_benefit_grants_uses_positive")
        ),
        sa.ForeignKeyConstraint(
            ["benefit_id"], ["benefits.id"], name=op.f("fk_benefit_grants_benefit_id_benefits")
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["additional_modules.id"],
            name=op.f("fk_benefit_grants_module_id_additional_modules"),
        ),
        sa.ForeignKeyConstraint(
            ["rate_id"], ["rates.id"], name=op.f("fk_benefit_grants_rate_id_rates")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_benefit_grants_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_grants")),
    )
    with op.batch_alter_table("benefit_grants", schema=None) as batch_op:
        batch_op.create_index("ix_benefit_grants_benefit_id", ["benefit_id"], unique=False)
        batch_op.create_index(
            "uq_benefit_grants_module_id",
            ["module_id", "benefit_id"],
            unique=True,
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        )
        batch_op.create_index(
            "uq_benefit_grants_rate_id",
            ["rate_id", "benefit_id"],
            unique=True,
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        )

    op.create_table(
        "benefit_counters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("grant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contract_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("period_start", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("uses_limit", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "used >= 0 AND used <= uses_limit", name=op.f("ck_benefit_counters_within_limit")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["benefit_grants.id"],
            name=op.f("fk_benefit_counters_grant_id_benefit_grants"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_benefit_counters_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_counters")),
        sa.UniqueConstraint(
            "grant_id",
            "contract_id",
            "period_start",
            name=op.f("uq_benefit_counters_grant_id_contract_id_period_start"),
        ),
    )
    op.create_table(
        "benefit_usages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "benefit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("benefit_key", sa.String(length=100), nullable=False),
        sa.Column("grant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contract_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "counter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("period_start", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("period_end", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "studio_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "api_key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "channel",
            sa.Enum("USE", "WEIGHING", name="usagechannel", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("used_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_benefit_usages_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["benefit_id"], ["benefits.id"], name=op.f("fk_benefit_usages_benefit_id_benefits")
        ),
        sa.ForeignKeyConstraint(
            ["counter_id"],
            ["benefit_counters.id"],
            name=op.f("fk_benefit_usages_counter_id_benefit_counters"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_benefit_usages_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["benefit_grants.id"],
            name=op.f("fk_benefit_usages_grant_id_benefit_grants"),
        ),
        sa.ForeignKeyConstraint(
            ["studio_id"], ["studios.id"], name=op.f("fk_benefit_usages_studio_id_studios")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_benefit_usages_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_usages")),
        sa.UniqueConstraint(
            "api_key_id",
            "idempotency_key",
            name=op.f("uq_benefit_usages_api_key_id_idempotency_key"),
        ),
    )
    with op.batch_alter_table("benefit_usages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_benefit_usages_customer_benefit_id",
            ["customer_id", "benefit_id", "id"],
            unique=False,
        )

    op.create_table(
        "benefit_usage_reversals",
        sa.Column("usage_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("reversed_by", sa.String(length=100), nullable=False),
        sa.Column("reversed_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_benefit_usage_reversals_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["usage_id"],
            ["benefit_usages.id"],
            name=op.f("fk_benefit_usage_reversals_usage_id_benefit_usages"),
        ),
        sa.PrimaryKeyConstraint("usage_id", name=op.f("pk_benefit_usage_reversals")),
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("benefit_usage_reversals")
    with op.batch_alter_table("benefit_usages", schema=None) as batch_op:
        batch_op.drop_index("ix_benefit_usages_customer_benefit_id")

    op.drop_table("benefit_usages")
    op.drop_table("benefit_counters")
    with op.batch_alter_table("benefit_grants", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_benefit_grants_rate_id",
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        )
        batch_op.drop_index(
            "uq_benefit_grants_module_id",
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        )
        batch_op.drop_index("ix_benefit_grants_benefit_id")

    op.drop_table("benefit_grants")
    with op.batch_alter_table("benefits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_benefits_tenant_id"))

    op.drop_table("benefits")
    # ### end Alembic commands ###
