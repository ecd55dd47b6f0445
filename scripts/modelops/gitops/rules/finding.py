"""A finding: which rule a file breaks, in which object, and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    """`file` is the file a person edits to fix it; `object` the rendered Kind/name at fault, if any;
    `rule` the rule's id (the same id checkov reports for the rules it runs)."""

    file: str
    message: str
    object: str = ""
    rule: str = ""

    def __str__(self) -> str:
        subject = f"{self.object}: " if self.object else ""
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{self.file}: {subject}{self.message}{rule}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**{field: str(data.get(field) or "") for field in ("file", "message", "object", "rule")})
