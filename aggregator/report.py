"""What a pipeline step reports back: counts, errors, details."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageReport:
    """Counts for one run of one stage."""

    stage: str
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_entirely(self) -> bool:
        """Return True when there was work and none of it succeeded."""
        return self.processed > 0 and self.succeeded == 0 and self.failed > 0

    def summary(self) -> str:
        """Return a one-line human summary."""
        parts = [f"{self.stage}: {self.succeeded} ok"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        parts += [f"{k} {v}" for k, v in self.details.items() if isinstance(v, int | float | str)]
        return ", ".join(parts)
