"""Rows <-> records for the SQL backends: one place for the column list and encryption."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ._crypto import MasterKey
from ._model import KeyPolicy, KeyRecord

#: The keys table's columns, in the order rows are read and written.
COLUMNS = (
    "access_key_id",
    "secret",
    "name",
    "status",
    "created_at",
    "expires_at",
    "policy",
    "v4a_public_key",
    "grace_until",
    "replaced_by",
)
COLUMN_LIST = ", ".join(COLUMNS)


def to_row(
    record: KeyRecord, key: MasterKey, when: Callable[[datetime | None], Any]
) -> tuple[Any, ...]:
    """The row for ``record``, its secret sealed; ``when`` converts timestamps."""
    return (
        record.access_key_id,
        key.encrypt(record.access_key_id, record.secret_access_key),
        record.name,
        record.status,
        when(record.created_at),
        when(record.expires_at),
        json.dumps(record.policy.to_json(), separators=(",", ":")) if record.policy else None,
        record.v4a_public_key,
        when(record.grace_until),
        record.replaced_by,
    )


def from_row(
    row: tuple[Any, ...], key: MasterKey, when: Callable[[Any], datetime | None]
) -> KeyRecord:
    (akid, sealed, name, status, created, expires, policy, pub, grace, replaced_by) = row
    created_at = when(created)
    assert created_at is not None
    return KeyRecord(
        akid,
        key.decrypt(akid, sealed),
        name=name,
        status=status,
        created_at=created_at,
        expires_at=when(expires),
        policy=KeyPolicy.from_json(json.loads(policy)) if policy else None,
        v4a_public_key=bytes(pub),
        grace_until=when(grace),
        replaced_by=replaced_by,
    )
