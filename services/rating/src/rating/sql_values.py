"""What the query builders compare columns with.

A literal builds a statement for one request; a bind parameter builds a statement once, kept and
executed with each request's values, which spares rebuilding and re-keying it on every call.
"""

from __future__ import annotations

from typing import TypeAlias

import sqlalchemy as sa

SqlText: TypeAlias = str | sa.BindParameter[str]
