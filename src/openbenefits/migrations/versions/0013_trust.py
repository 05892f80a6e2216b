"""admin token revocations; webhook secrets and partner keys sealed; stored idempotent answers
sealed from now on

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

import openbenefits.kit.db
from openbenefits.kit.encryption import Keyring

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain column, sealed column, and what the sealed value is bound to (as webhooks/service.py
# seals it, written out here so that this migration does not change when the service does).
_COLUMNS = (
    ("api_key", "sealed_api_key", "api_key"),
    ("secret", "sealed_secret", "secret"),
    ("previous_secret", "sealed_previous_secret", "secret"),
)
subscriptions = sa.table(
    "webhook_subscriptions",
    sa.column("id"),
    sa.column("tenant_id"),
    *(sa.column(plain) for plain, _, _ in _COLUMNS),
    *(sa.column(sealed, sa.LargeBinary()) for _, sealed, _ in _COLUMNS),
)


def _keyring() -> Keyring:
    keyring: Keyring | None = context.config.attributes.get("keyring")
    if keyring is None:
        from openbenefits.config import Settings

        keyring = Settings().keyring
    return keyring


def _context(what: str, tenant_id: int) -> str:
    return f"webhook_subscriptions.{what}\n{tenant_id}"


def _convert(seal: bool) -> None:
    """Seal the plain columns into the sealed ones, or (downgrading) open them back."""
    connection = op.get_bind()
    source = [c for _, c, _ in _COLUMNS] if not seal else [p for p, _, _ in _COLUMNS]
    rows = connection.execute(
        sa.select(
            subscriptions.c.id, subscriptions.c.tenant_id, *(subscriptions.c[c] for c in source)
        )
    ).all()
    if not rows:
        return
    keyring = _keyring()
    for row in rows:
        values: dict[str, str | bytes] = {}
        for plain, sealed, what in _COLUMNS:
            where = _context(what, row.tenant_id)
            if seal and row._mapping[plain] is not None:
                values[sealed] = keyring.seal_text(row._mapping[plain], where)
            elif not seal and row._mapping[sealed] is not None:
                values[plain] = keyring.open_text(row._mapping[sealed], where)
        if values:
            connection.execute(
                sa.update(subscriptions).where(subscriptions.c.id == row.id).values(**values)
            )


def upgrade() -> None:
    op.create_table(
        "admin_token_revocations",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", openbenefits.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_admin_token_revocations")),
    )
    with op.batch_alter_table("webhook_subscriptions") as batch:
        for _, sealed, _ in _COLUMNS:
            batch.add_column(sa.Column(sealed, sa.LargeBinary(), nullable=True))
    _convert(seal=True)
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("sealed_secret", existing_type=sa.LargeBinary(), nullable=False)
        for plain, _, _ in _COLUMNS:
            batch.drop_column(plain)
    # Answers stored before were kept in clear and under owners that ignored the tenant
    # binding; they would not open now. A retry of one of them (24 h at most) runs afresh.
    op.execute("DELETE FROM idempotency_records")


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_records")
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("api_key", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("secret", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("previous_secret", sa.String(length=100), nullable=True))
    _convert(seal=False)
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("secret", existing_type=sa.String(length=100), nullable=False)
        for _, sealed, _ in _COLUMNS:
            batch.drop_column(sealed)
    op.drop_table("admin_token_revocations")
