"""``Finding``: one diagnosed problem — a stable code, a severity, what and why, and the fix.

Severities, most serious first:

* ``"error"``   — the configuration cannot work as intended (softmax over pixels, BCE on 0..255);
* ``"warning"`` — it will probably train badly (vanishing gradients, a far-off learning rate);
* ``"note"``    — worth knowing, not a problem (BCE's floor on grey targets).
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("error", "warning", "note")


@dataclass(frozen=True)
class Finding:
    """A diagnosed problem.

    code : a stable identifier such as ``"softmax-per-pixel"`` (test against it, not the text);
    severity : ``"error"``, ``"warning"`` or ``"note"``;
    message : one line: what is wrong and why it matters, with the measured numbers;
    fix : one line: what to change.
    """

    code: str
    severity: str
    message: str
    fix: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")


def by_severity(findings: list[Finding]) -> list[Finding]:
    """The findings with errors first, then warnings, then notes (stable within each)."""
    return sorted(findings, key=lambda finding: SEVERITIES.index(finding.severity))


def format_findings(findings: list[Finding]) -> str:
    """A printable report: one block per finding, most serious first, then a count.

    ::

        error    softmax-per-pixel  the output layer is a softmax: …
                 fix: use a sigmoid output …
    """
    if not findings:
        return "no problems found"
    findings = by_severity(findings)
    width = max(len(finding.code) for finding in findings)
    lines = []
    for finding in findings:
        lines.append(f"{finding.severity:<8} {finding.code:<{width}}  {finding.message}")
        lines.append(f"{'':<8} {'':<{width}}  fix: {finding.fix}")
    counts = [f"{sum(f.severity == s for f in findings)} {s}(s)" for s in SEVERITIES]
    lines.append(", ".join(counts))
    return "\n".join(lines)
