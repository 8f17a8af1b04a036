"""One decision from the signs found: how urgent is this, and what leads the advice.

The situation reader (``assistant.situation``) finds every danger sign with its context; this
module only decides. Emergency only for a current, affirmed emergency sign, in any position
of an utterance of any length; see a doctor promptly for an affirmed red flag, and for an
emergency sign that has passed recently or keeps coming back; no urgency for signs that are
negated, long past, hypothetical, figurative or normal in their context. When it is unclear
whether an emergency sign is happening now ("what do i do if she has a fit"), no urgency,
but the answer leads with "if this is happening now, call...". Never a diagnosis.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from assistant.situation import Finding, Situation, Status
from assistant.situation.lexicon import Level
from assistant.stages import Urgency

__all__ = ["NO_CONCERN", "SafetyVerdict", "Urgency", "assess"]

_DOWNGRADED = (Status.RECENT, Status.HABITUAL)
"""An emergency sign that is over, or that keeps happening, needs a doctor, not an ambulance
("she fainted last week", "i get chest pain when i run")."""
_RED_FLAG_COUNTS = (Status.AFFIRMED, Status.RECENT, Status.HABITUAL)


@dataclass(frozen=True)
class SafetyVerdict:
    """What the safety decision found in one utterance."""

    urgency: Urgency | None
    signs: tuple[Finding, ...] = ()
    """The findings behind ``urgency``, most urgent first (empty when it is None)."""
    downgraded: bool = False
    """The leading sign is an emergency sign that has passed or recurs (advice: a doctor)."""
    unclear: tuple[Finding, ...] = ()
    """Emergency signs that may or may not be happening now."""
    past: tuple[Finding, ...] = ()
    """Emergency signs told as long past: worth one calm line, no alarm."""
    animal: tuple[Finding, ...] = ()
    """Emergency signs in a pet: a vet's matter."""
    mentioned: tuple[Finding, ...] = ()
    """Every other sign word heard (negated, hypothetical, figurative, normal)."""

    @property
    def leading(self) -> Finding | None:
        return self.signs[0] if self.signs else None


NO_CONCERN = SafetyVerdict(None)


def assess(situation: Situation) -> SafetyVerdict:
    """Decide the urgency of one utterance from its findings."""
    if not situation.findings:
        return NO_CONCERN
    emergency = _urgent_first(
        f for f in situation.findings
        if f.level is Level.EMERGENCY and f.status is Status.AFFIRMED
    )
    by_status = {
        status: tuple(f for f in situation.findings if f.level is Level.EMERGENCY
                      and f.status is status)
        for status in (Status.UNCLEAR, Status.HISTORICAL, Status.ANIMAL)
    }
    no_urgency = SafetyVerdict(
        None,
        unclear=by_status[Status.UNCLEAR],
        past=by_status[Status.HISTORICAL],
        animal=by_status[Status.ANIMAL],
        mentioned=situation.with_status(
            Status.NEGATED, Status.HYPOTHETICAL, Status.FIGURATIVE, Status.NORMAL
        ),
    )
    if emergency:
        return replace(no_urgency, urgency=Urgency.EMERGENCY, signs=emergency)
    red_flags = _urgent_first(
        f for f in situation.findings
        if f.level is Level.DOCTOR and f.status in _RED_FLAG_COUNTS
    )
    passed = _urgent_first(
        f for f in situation.findings
        if f.level is Level.EMERGENCY and f.status in _DOWNGRADED
        and (f.kind.passed_needs_doctor or f.status is Status.HABITUAL)
    )
    if passed or red_flags:
        return replace(no_urgency, urgency=Urgency.DOCTOR, signs=passed + red_flags,
                       downgraded=bool(passed))
    return no_urgency


def _urgent_first(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Most urgent kind first (its place in signs.yaml), then in the order said; one
    finding per kind."""
    seen: dict[str, Finding] = {}
    for finding in sorted(findings, key=lambda f: (f.kind.rank, f.start)):
        seen.setdefault(finding.kind.name, finding)
    return tuple(seen.values())
