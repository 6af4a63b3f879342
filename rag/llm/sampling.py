"""The sampling parameters a chat may set, with their defaults and ranges: written once, read by the settings
panel (which validates what comes back) and by the request builder (the defaults)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class NumberSetting:
    """A number the user may set, shown as a slider (or a plain field) with this range."""

    id: str
    default: float
    low: float
    high: float
    step: float
    integer: bool = False
    slider: bool = True

    def read(self, values: Mapping[str, object], default: float | None = None) -> float:
        """The value sent for this setting, clamped to the range; the default when missing or not a number."""
        fallback = self.default if default is None else default
        raw = values.get(self.id, fallback)
        try:
            value = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            value = fallback
        if not math.isfinite(value):
            value = fallback
        value = min(max(value, self.low), self.high)
        return float(round(value)) if self.integer else value


TEMPERATURE = NumberSetting("temperature", 0.2, 0, 1.5, 0.05)
TOP_P = NumberSetting("top_p", 0.95, 0.05, 1, 0.05)
MAX_TOKENS = NumberSetting("max_tokens", 256, 16, 2048, 16, integer=True)
SAMPLER_TOP_K = NumberSetting("sampler_top_k", 0, 0, 500, 1, integer=True, slider=False)
REPEAT_PENALTY = NumberSetting("repeat_penalty", 0, 0, 3, 0.05, slider=False)
