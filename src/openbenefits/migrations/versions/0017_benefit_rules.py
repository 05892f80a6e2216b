"""benefit rules: stacked limits per grant, time windows, a counter per limit, the counter's
customer (the operators' leads) instead of the ledger's pointer to one counter

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 10:48:39.485982
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PERIOD = sa.Enum(
    "DAY", "WEEK", "MONTH", "YEAR", "TERM", name="contingentperiod", native_enum=False, length=20
)


def upgrade() -> None:
    op.create_table(
        "benefit_grant_limits",
        sa.Column("grant_id", ID, nullable=False),
        sa.Column("period", PERIOD, nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.CheckConstraint("uses > 0", name=op.f("ck_benefit_grant_limits_uses_positive")),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["benefit_grants.id"],
            name=op.f("fk_benefit_grant_limits_grant_id_benefit_grants"),
        ),
        sa.PrimaryKeyConstraint("grant_id", "period", name=op.f("pk_benefit_grant_limits")),
    )
    op.execute(
        "INSERT INTO benefit_grant_limits (grant_id, period, uses)"
        " SELECT id, period, uses FROM benefit_grants WHERE uses IS NOT NULL"
    )

    with op.batch_alter_table("benefit_counters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", ID, nullable=True))
        batch_op.add_column(sa.Column("period", PERIOD, nullable=True))
    op.execute(
        "UPDATE benefit_counters SET"
        " period = (SELECT period FROM benefit_grants"
        " WHERE benefit_grants.id = benefit_counters.grant_id),"
        " customer_id = (SELECT min(customer_id) FROM benefit_usages"
        " WHERE benefit_usages.counter_id = benefit_counters.id)"
    )
    # A counter no use ever pointed at counts nothing.
    op.execute("DELETE FROM benefit_counters WHERE customer_id IS NULL OR period IS NULL")
    with op.batch_alter_table("benefit_counters", schema=None) as batch_op:
        batch_op.alter_column("customer_id", existing_type=ID, nullable=False)
        batch_op.alter_column("period", existing_type=PERIOD, nullable=False)
        batch_op.drop_constraint(
            batch_op.f("uq_benefit_counters_grant_id_contract_id_period_start"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_benefit_counters_grant_id_contract_id_period_period_start"),
            ["grant_id", "contract_id", "period", "period_start"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_benefit_counters_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
        )

    with op.batch_alter_table("benefit_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_windows", sa.JSON(), nullable=True))
        batch_op.drop_constraint(batch_op.f("ck_benefit_grants_uses_per_period"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_benefit_grants_uses_positive"), type_="check")
        batch_op.drop_column("period")
        batch_op.drop_column("uses")

    with op.batch_alter_table("benefit_usages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_benefit_usages_counter_id_benefit_counters"), type_="foreignkey"
        )
        batch_op.drop_column("counter_id")


def downgrade() -> None:
    with op.batch_alter_table("benefit_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uses", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("period", PERIOD, nullable=True))
        batch_op.drop_column("time_windows")
    # One limit per grant survives the way back (the first by name), with its counters.
    op.execute(
        "UPDATE benefit_grants SET"
        " period = (SELECT min(period) FROM benefit_grant_limits"
        " WHERE benefit_grant_limits.grant_id = benefit_grants.id)"
    )
    op.execute(
        "UPDATE benefit_grants SET"
        " uses = (SELECT uses FROM benefit_grant_limits"
        " WHERE benefit_grant_limits.grant_id = benefit_grants.id"
        " AND benefit_grant_limits.period = benefit_grants.period)"
    )
    with op.batch_alter_table("benefit_grants", schema=None) as batch_op:
        batch_op.create_check_constraint("uses_per_period", "(uses IS NULL) = (period IS NULL)")
        batch_op.create_check_constraint("uses_positive", "uses IS NULL OR uses > 0")
    op.execute(
        "DELETE FROM benefit_counters WHERE period <> (SELECT period FROM benefit_grants"
        " WHERE benefit_grants.id = benefit_counters.grant_id)"
    )

    with op.batch_alter_table("benefit_usages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counter_id", ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_benefit_usages_counter_id_benefit_counters"),
            "benefit_counters",
            ["counter_id"],
            ["id"],
        )
    op.execute(
        "UPDATE benefit_usages SET counter_id = (SELECT id FROM benefit_counters"
        " WHERE benefit_counters.grant_id = benefit_usages.grant_id"
        " AND benefit_counters.contract_id = benefit_usages.contract_id"
        " AND benefit_counters.period_start <= benefit_usages.used_at"
        " AND benefit_counters.period_end > benefit_usages.used_at)"
    )

    with op.batch_alter_table("benefit_counters", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_benefit_counters_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("uq_benefit_counters_grant_id_contract_id_period_period_start"),
            type_="unique",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_benefit_counters_grant_id_contract_id_period_start"),
            ["grant_id", "contract_id", "period_start"],
        )
        batch_op.drop_column("period")
        batch_op.drop_column("customer_id")

    op.drop_table("benefit_grant_limits")
