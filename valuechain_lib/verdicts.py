"""The verdict a rule gives a claim: one small value type shared by every chapter's rules."""

from __future__ import annotations

from dataclasses import dataclass, field

STATUSES = ("supported", "not supported", "mixed", "not testable with public data")


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict with the numbers behind it.

    Parameters
    ----------
    status : str
        One of `STATUSES`.
    summary : str
        One or two sentences computed from the data (Markdown allowed), stating the numbers.
    numbers : dict
        The figures the rule compared (name → value), for the scorecard and tests.
    sources : str
        Where the figures come from (filings, facts-table ids with their kind and confidence).
    """

    status: str
    summary: str
    numbers: dict = field(default_factory=dict)
    sources: str = ""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"verdict status {self.status!r} is not one of {STATUSES}")


def status_from_count(passed: int, total: int) -> str:
    """All conditions met → supported; none → not supported; some → mixed."""
    if passed == total:
        return "supported"
    return "not supported" if passed == 0 else "mixed"
