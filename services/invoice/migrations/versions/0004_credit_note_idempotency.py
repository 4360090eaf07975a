"""An optional client key per credit request, so a retried request returns the credit note it issued.

Revision ID: 0004_credit_note_idempotency
Revises: 0003_credit_note_audit
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_credit_note_idempotency"
down_revision: str | None = "0003_credit_note_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE document_audit ADD COLUMN idempotency_key text")
    op.execute(
        "CREATE UNIQUE INDEX document_audit_idempotency ON document_audit (action, idempotency_key) "
        "WHERE idempotency_key IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS document_audit_idempotency")
    op.execute("ALTER TABLE document_audit DROP COLUMN IF EXISTS idempotency_key")
