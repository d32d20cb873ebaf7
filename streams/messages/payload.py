"""What every topic payload shares: JSON encoding, parsing with a one-line error, and a
versioned content type carried in the record headers.

Message formats evolve additively: new fields get defaults, so a consumer reads records
written by an older producer; the ``content-type`` header names the format and its
version (``application/x-eoport-job+json;v=1``) so that a consumer can refuse a record
of a newer, incompatible version clearly instead of misreading it.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel

from streams._infra.errors import SchemaError
from streams._infra.records import OutgoingRecord

CONTENT_TYPE = "content-type"
"""Record header naming a payload's format and version."""


class Payload(BaseModel):
    """Base of the topic payloads.

    Class attributes
    ----------------
    what
        What a value is, for error messages (``"focus job"``).
    schema_type
        Content type without the version (``application/x-eoport-job+json``).
    version
        Format version written in the ``content-type`` header.
    """

    what: ClassVar[str] = "payload"
    schema_type: ClassVar[str] = "application/json"
    version: ClassVar[int] = 1

    @classmethod
    def content_type(cls) -> str:
        """The ``content-type`` header value: ``{schema_type};v={version}``."""
        return f"{cls.schema_type};v={cls.version}"

    def to_bytes(self) -> bytes:
        """UTF-8 JSON."""
        return self.model_dump_json().encode()

    def record(self, topic: str, key: str) -> OutgoingRecord:
        """This payload as a record of ``topic`` with its content-type header."""
        return OutgoingRecord(
            topic, key, self.to_bytes(), {CONTENT_TYPE: self.content_type().encode()}
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse a value.

        Raises
        ------
        SchemaError
            ``invalid {what}: {field} {problem}`` when the bytes are not one.
        """
        try:
            return cls.model_validate_json(data)
        except ValueError as exc:
            lines = str(exc).splitlines()
            reason = " ".join(x.strip() for x in lines[1:3]) if len(lines) > 1 else str(exc)
            raise SchemaError(f"invalid {cls.what}: {reason}") from exc
