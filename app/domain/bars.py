"""OhlcvBars: a ticker's most recent daily bars, as numpy arrays (the input of SPEC §13.4)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from app.domain.chain import FloatArray

DateArray = npt.NDArray[np.datetime64]
_NO_DATES: DateArray = np.empty(0, dtype="datetime64[D]")


@dataclass(frozen=True, slots=True)
class OhlcvBars:
    """A ticker's most recent bars dated ≤ the session, ascending; NaN where a value is missing.

    `sessions` holds the NYSE sessions from the first bar's date to the last's (the caller
    knows the calendar; the domain does not), so the gaps between bars can be counted.
    """

    dates: DateArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    sessions: DateArray = field(default_factory=lambda: _NO_DATES)

    def __len__(self) -> int:
        return int(self.dates.shape[0])

    @classmethod
    def empty(cls) -> OhlcvBars:
        nothing = np.empty(0, dtype=np.float64)
        return cls(_NO_DATES, nothing, nothing, nothing, nothing)

    def last(self, count: int) -> OhlcvBars:
        """The most recent `count` bars (sessions left as they are)."""
        start = max(len(self) - count, 0)
        if start == 0:
            return self  # frozen: nothing to copy
        return OhlcvBars(
            self.dates[start:],
            self.open[start:],
            self.high[start:],
            self.low[start:],
            self.close[start:],
            self.sessions,
        )
