"""loyalty programs, versions, contracts, consumers, events, points, age bands

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 20:05:38.878626
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbenefits.kit.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "loyalty_age_bands",
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("bands", sa.JSON(), nullable=False),
        sa.Column("senior_citizen_from_age", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_loyalty_age_bands_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_loyalty_age_bands")),
    )
    op.create_table(
        "loyalty_programs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "program_type",
            sa.Enum("TIMED", "COUPONS", "POINTS", name="programtype", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("internal_description", sa.String(length=1000), nullable=True),
        sa.Column("code", sa.String(length=100), nullable=True),
        sa.Column("allow_other_organisations", sa.Boolean(), nullable=False),
        sa.Column("ends_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_loyalty_programs_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_programs")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_loyalty_programs_tenant_id_code")),
    )
    with op.batch_alter_table("loyalty_programs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loyalty_programs_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "loyalty_program_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("product_version", sa.String(length=200), nullable=True),
        sa.Column("start_date", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_date", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("usage_validity_seconds", sa.BigInteger(), nullable=True),
        sa.Column("default_coupons_limit", sa.Integer(), nullable=True),
        sa.Column("coupon_validity_seconds", sa.BigInteger(), nullable=True),
        sa.Column("descriptions", sa.JSON(), nullable=False),
        sa.Column("created_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "coupon_validity_seconds IS NULL OR coupon_validity_seconds > 0",
            name=op.f("ck_loyalty_program_versions_coupon"),
        ),
        sa.CheckConstraint(
            "default_coupons_limit IS NULL OR default_coupons_limit >= 0",
            name=op.f("ck_loyalty_program_versions_limit"),
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_loyalty_program_versions_dates_ordered"),
        ),
        sa.CheckConstraint(
            "usage_validity_seconds IS NULL OR usage_validity_seconds > 0",
            name=op.f("ck_loyalty_program_versions_usage"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["loyalty_programs.id"],
            name=op.f("fk_loyalty_program_versions_program_id_loyalty_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_loyalty_program_versions_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_program_versions")),
        sa.UniqueConstraint(
            "program_id",
            "version_number",
            name=op.f("uq_loyalty_program_versions_program_id_version_number"),
        ),
    )
    op.create_table(
        "loyalty_contracts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "program_version_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "consumable_from", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("expiration_date", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column("coupons_limit", sa.Integer(), nullable=True),
        sa.Column("coupons_used", sa.Integer(), nullable=False),
        sa.Column("points_type", sa.String(length=50), nullable=True),
        sa.Column("points_balance", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column(
            "redeemed_by_customer_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "holder_removed_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "last_changed_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("last_changed_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "coupons_limit IS NULL OR coupons_used <= coupons_limit",
            name=op.f("ck_loyalty_contracts_coupons_within_limit"),
        ),
        sa.CheckConstraint(
            "coupons_used >= 0", name=op.f("ck_loyalty_contracts_coupons_used_positive")
        ),
        sa.CheckConstraint(
            "points_balance >= 0", name=op.f("ck_loyalty_contracts_points_balance_positive")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["loyalty_contracts.id"],
            name=op.f("fk_loyalty_contracts_parent_id_loyalty_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["loyalty_programs.id"],
            name=op.f("fk_loyalty_contracts_program_id_loyalty_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["program_version_id"],
            ["loyalty_program_versions.id"],
            name=op.f("fk_loyalty_contracts_program_version_id_loyalty_program_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_by_customer_id"],
            ["customers.id"],
            name=op.f("fk_loyalty_contracts_redeemed_by_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_loyalty_contracts_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_contracts")),
        sa.UniqueConstraint(
            "program_id",
            "redeemed_by_customer_id",
            name=op.f("uq_loyalty_contracts_program_id_redeemed_by_customer_id"),
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_loyalty_contracts_uuid")),
    )
    with op.batch_alter_table("loyalty_contracts", schema=None) as batch_op:
        batch_op.create_index("ix_loyalty_contracts_external_ref", ["external_ref"], unique=False)
        batch_op.create_index(
            "ix_loyalty_contracts_parent_id_consumable_from",
            ["parent_id", "consumable_from"],
            unique=False,
        )
        batch_op.create_index("ix_loyalty_contracts_program_id", ["program_id"], unique=False)

    op.create_table(
        "loyalty_contract_consumers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contract_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_organisation_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("customer_ref", sa.String(length=200), nullable=True),
        sa.Column("is_contract_holder", sa.Boolean(), nullable=False),
        sa.Column("is_blocked", sa.Boolean(), nullable=False),
        sa.Column("created_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "last_changed_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("last_changed_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["loyalty_contracts.id"],
            name=op.f("fk_loyalty_contract_consumers_contract_id_loyalty_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_loyalty_contract_consumers_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_organisation_id"],
            ["tenants.id"],
            name=op.f("fk_loyalty_contract_consumers_customer_organisation_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_contract_consumers")),
        sa.UniqueConstraint(
            "contract_id",
            "customer_id",
            name=op.f("uq_loyalty_contract_consumers_contract_id_customer_id"),
        ),
    )
    with op.batch_alter_table("loyalty_contract_consumers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_contract_consumers_customer_id", ["customer_id"], unique=False
        )
        batch_op.create_index(
            "uq_loyalty_contract_consumers_holder",
            ["contract_id"],
            unique=True,
            sqlite_where=sa.text("is_contract_holder"),
            postgresql_where=sa.text("is_contract_holder"),
        )

    op.create_table(
        "loyalty_contract_policies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contract_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["loyalty_contracts.id"],
            name=op.f("fk_loyalty_contract_policies_contract_id_loyalty_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_contract_policies")),
        sa.UniqueConstraint(
            "contract_id", "key", name=op.f("uq_loyalty_contract_policies_contract_id_key")
        ),
    )
    op.create_table(
        "loyalty_order_line_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contract_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "coupons_contract_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("spent_coupon", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=False),
        sa.Column("order_line_id", sa.String(length=100), nullable=False),
        sa.Column("discount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("occurred_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["loyalty_contracts.id"],
            name=op.f("fk_loyalty_order_line_events_contract_id_loyalty_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["coupons_contract_id"],
            ["loyalty_contracts.id"],
            name=op.f("fk_loyalty_order_line_events_coupons_contract_id_loyalty_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_order_line_events")),
        sa.UniqueConstraint(
            "contract_id",
            "order_id",
            "order_line_id",
            name=op.f("uq_loyalty_order_line_events_contract_id_order_id_order_line_id"),
        ),
        sa.UniqueConstraint(
            "coupons_contract_id",
            "order_id",
            "order_line_id",
            name=op.f("uq_loyalty_order_line_events_coupons_contract_id_order_id_order_line_id"),
        ),
    )
    op.create_table(
        "loyalty_points_transactions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contract_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "transaction_type",
            sa.Enum(
                "DEPOSIT",
                "WITHDRAWAL",
                "REFUND",
                name="pointstransactiontype",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("points_type", sa.String(length=50), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("balance_after", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("external_ref", sa.String(length=200), nullable=False),
        sa.Column(
            "refund_of_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "(transaction_type = 'REFUND') = (refund_of_id IS NOT NULL)",
            name=op.f("ck_loyalty_points_transactions_refund_of"),
        ),
        sa.CheckConstraint(
            "amount > 0", name=op.f("ck_loyalty_points_transactions_amount_positive")
        ),
        sa.CheckConstraint(
            "balance_after >= 0", name=op.f("ck_loyalty_points_transactions_balance_after_positive")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["loyalty_contracts.id"],
            name=op.f("fk_loyalty_points_transactions_contract_id_loyalty_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["refund_of_id"],
            ["loyalty_points_transactions.id"],
            name=op.f("fk_loyalty_points_transactions_refund_of_id_loyalty_points_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_points_transactions")),
        sa.UniqueConstraint(
            "contract_id",
            "external_ref",
            name=op.f("uq_loyalty_points_transactions_contract_id_external_ref"),
        ),
    )
    with op.batch_alter_table("loyalty_points_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_points_transactions_contract_id_id", ["contract_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_loyalty_points_transactions_refund_of_id", ["refund_of_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("loyalty_points_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_points_transactions_refund_of_id")
        batch_op.drop_index("ix_loyalty_points_transactions_contract_id_id")

    op.drop_table("loyalty_points_transactions")
    op.drop_table("loyalty_order_line_events")
    op.drop_table("loyalty_contract_policies")
    with op.batch_alter_table("loyalty_contract_consumers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_loyalty_contract_consumers_holder",
            sqlite_where=sa.text("is_contract_holder"),
            postgresql_where=sa.text("is_contract_holder"),
        )
        batch_op.drop_index("ix_loyalty_contract_consumers_customer_id")

    op.drop_table("loyalty_contract_consumers")
    with op.batch_alter_table("loyalty_contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_contracts_program_id")
        batch_op.drop_index("ix_loyalty_contracts_parent_id_consumable_from")
        batch_op.drop_index("ix_loyalty_contracts_external_ref")

    op.drop_table("loyalty_contracts")
    op.drop_table("loyalty_program_versions")
    with op.batch_alter_table("loyalty_programs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loyalty_programs_tenant_id"))

    op.drop_table("loyalty_programs")
    op.drop_table("loyalty_age_bands")
