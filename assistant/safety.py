"""Red flags and emergencies: checked before any intent, and they win over everything.

Works on stemmed words (``nlu.text.tokens``), so "weakness", "weak" and "weaker" meet,
and on whole phrases, so "falling asleep" is not a fall. A red flag preceded closely by a
negation ("no weakness", "it isn't spreading") does not count; phrases that contain their
own negation ("can't swallow", "won't stop") are written into the pattern. When in doubt
the rules lean towards advising a doctor: a needless "see a doctor" costs little, a
missed one can cost a lot. Never a diagnosis: only what to do next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.nlu.text import stem, tokens

EMERGENCY = "emergency"
RED_FLAG = "red_flag"

_NEGATORS = ("no", "not", "without", "never", "nor", "none", "hardly")
_NEGATION_WINDOW = 3

# Patterns run over " ".join(stemmed tokens) with a leading and trailing space.
_EMERGENCY_PATTERNS: dict[str, list[str]] = {
    "breathing": [
        r" (can not|could not|unable to|not able to|struggl|fight|fighting) (to |for )?"
        r"(\w+ ){0,2}(breath|air)",
        r" (not|stop|stopp) breath",
        r" (he|she|they|i|you) (is|are|am) not breath",
        r" gasp",
        r" chok",
        r" (turn|go|gone) blue",
        r" can not get (any )?air",
    ],
    "stroke": [
        r" (hav|had|has|is|it is|this is|be) (a )?strok ",
        r" (face|mouth|smile) (is |has |start |sudden |suddenly )*droop",
        r" droop (face|mouth|smile)",
        r" one side of (my|his|her|the|their) (face|body)",
        r" half (of )?(my|his|her|the|their) (face|body)",
        r" (left|right|one) side (is |has |went |go |gone )*(numb|weak|paralys|dead)",
        r" sudden\w* (weak|numb|paralys|can not move|slur|confus|can not speak|can not talk)",
        r" (slur|can not speak|can not talk)\w* (sudden|all of a sudden)",
        r" all of a sudden (weak|numb|paralys|can not move|slur|i can not speak)",
    ],
    "chest_pain": [
        r" chest (\w+ ){0,3}(pain|hurt|tight|pressur|crush|heavy|squeez)",
        r" (pain|tight|pressur|crush)\w* (\w+ ){0,2}chest",
        r" heart attack",
    ],
    "collapse": [
        r" collaps",
        r" pass out",
        r" passed out",
        r" unconscious",
        r" faint",
        r" unresponsiv",
        r" (will not|can not|not) wak",
        r" black out",
        r" blacked out",
        r" not respond",
        r" (is|are|am) not mov",
    ],
    "seizure": [
        r" seizur",
        r" convuls",
        r" (have|hav|had|has) a fit ",
        r" epileptic",
        r" eye (\w+ ){0,2}roll",
        r" fitt ",
    ],
}

_RED_FLAG_PATTERNS: dict[str, list[str]] = {
    "breathing": [
        r" (troubl|difficult|difficulty|hard|short|shortness of|problem|struggl|"
        r"labou?r|out of) (\w+ ){0,2}breath",
        r" breathless",
        r" breath (\w+ )?(is |are )?"
        r"(hard|difficult|weak|shallow|labou?r)",
    ],
    "swallowing": [r" swallow", r" (go|goe|going|went|gone) down the wrong (way|pipe|hole)"],
    "speech": [
        r" slur",
        r" (troubl|difficult|difficulty|hard|problem|struggl|can not) "
        r"(\w+ ){0,2}(speak|talk|speech|get my words out)",
        r" speech (is |has )?(chang|"
        r"slur|bad|strange)",
    ],
    "weakness": [
        r" weak",
        r" (lose|los|lost|no|losing) (my |any |of )?(strength|grip|power)",
        r" (can not|could not|unable to|struggl to|hard to) (grip|lift|hold|climb|walk|"
        r"stand|move|open (a )?jar|button)",
        r" giv (way|out)",
        r" paralys",
        r" (leg|arm|hand|foot|feet) (feel |are |is |keep |feel like )*(heavy|useless|"
        r"floppy|limp)",
        r" foot (\w+ ){0,2}(drop|slap|drag)",
        r" drag (my |his |her )?(foot|leg)",
        r" drop (my )?foot",
    ],
    "wasting": [
        r" wast",
        r" shrink",
        r" shrank",
        r" thinner",
        r" (los|lose|lost|losing) "
        r"(\w+ ){0,3}muscl",
        r" muscl (is |are |look |seem )*(smaller|loss|disappear)",
        r" dent in (my )?muscl",
    ],
    "falls": [
        r" (fall|fell)(?! asleep)(?! over (night|nite))",
        r" keep fall",
        r" trip",
        r" stumbl",
        r" (drop|dropp) (thing|stuff|my|cup|object)",
        r" clumsy",
        r" clumsi",
    ],
    "spreading": [
        r" spread",
        r" get bad",
        r" getting bad",
        r" gett bad",
        r" bad and bad",
        r" worsen",
        r" mor and mor",
        r" more and more",
        r" progress",
        r" (mov|jump|go) to (other|more|new|different) (place|muscl|part|area|limb)",
        r" in more (place|muscl|part)",
        r" now (\w+ ){0,3}(everywhere|all over)",
        r" (used to be|was|start|started) (just |only )(in )?(\w+ ){0,3}(but )?now "
        r"(?!and (then|again))",
    ],
    "persistent": [
        r" all the time",
        r" constant",
        r" nonstop",
        r" non stop",
        r" (will not|does not|do not|never|would not|has not|have not|can not) "
        r"(\w+ )?stop",
        r" every (single )?(day|night|hour|minut)",
        r" for (\w+ ){0,2}(week|month|year)",
        r" (week|month|year) now",
        r" (week|month|year) (of|straight)",
        r" all day",
        r" continu",
        r" persist",
        r" (very|extremely|so) frequent",
        r" hundred",
        r" nonstop",
        r" day and night",
        r" around the clock",
        r" for (a long time|ages|hour)",
        r" (last|gone on|go on|been go on) for (a long time|ages|hour|week|month)",
    ],
}

_PATTERN_WORD = re.compile(r"(?<![\\?])[a-z]+")
"""A run of letters in a pattern that is a word (not the ``w`` of ``\\w``)."""


def _stemmed(pattern: str) -> re.Pattern[str]:
    """Compile ``pattern`` with its words stemmed as the text is: a pattern may say
    "everywhere", "smile" or "unable", which the text holds as "everywher", "smil",
    "unabl". Words written as stems already ("collaps", "struggl") stay prefixes of the
    stemmed text."""
    return re.compile(_PATTERN_WORD.sub(lambda m: stem(m.group(0)), pattern))


_COMPILED_EMERGENCY = {k: [_stemmed(p) for p in v] for k, v in _EMERGENCY_PATTERNS.items()}
_COMPILED_RED_FLAG = {k: [_stemmed(p) for p in v] for k, v in _RED_FLAG_PATTERNS.items()}

RED_FLAG_ORDER = (
    "breathing",
    "swallowing",
    "speech",
    "weakness",
    "wasting",
    "falls",
    "spreading",
    "persistent",
)
"""Most urgent first: the first kind found leads the spoken advice."""


@dataclass(frozen=True)
class SafetyVerdict:
    """What the safety check found in one utterance."""

    level: str | None
    """``emergency``, ``red_flag`` or None."""
    kinds: tuple[str, ...] = ()
    """Which signs, most urgent first (e.g. ``("weakness", "spreading")``)."""


NO_CONCERN = SafetyVerdict(None)


_SUDDEN = _stemmed(r" (sudden|all of a sudden|out of nowhere|just now|right now) ")
_STROKE_SIGN = _stemmed(
    r" (weak|numb|paralys|slur|droop|confus|can not (speak|talk|move|see|lift|feel))"
)


def check(text: str, heard: list[str] | None = None) -> SafetyVerdict:
    """Look for emergencies, then red flags, in ``text``.

    ``heard``: the words after sounds-like repair ("see sure" -> "seizure"), when the
    caller has them; otherwise ``text`` is split here.
    """
    words = [stem(w) for w in heard] if heard is not None else tokens(text)
    if not words:
        return NO_CONCERN
    joined = " " + " ".join(words) + " "
    found = [k for k, pats in _COMPILED_EMERGENCY.items() if _hit(joined, pats, about_ok=True)]
    if not found and _SUDDEN.search(joined) and _hit(joined, [_STROKE_SIGN]):
        found = ["stroke"]  # sudden weakness, numbness or speech trouble: a stroke sign
    if found:
        return SafetyVerdict(EMERGENCY, tuple(found))
    flags = [k for k in RED_FLAG_ORDER if _hit(joined, _COMPILED_RED_FLAG[k])]
    if flags:
        return SafetyVerdict(RED_FLAG, tuple(flags))
    return NO_CONCERN


_ABOUT = re.compile(
    r" (sign|symptom|caus|lead to|same as|kind of|type of|risk of|mean|what is|"
    r"what are|differen\w*)( of)?( an?| the)?$"
)
"""Words that make an emergency term the subject of a question, not something happening:
"is twitching a sign of a heart attack", "can twitching cause seizures"."""


_DURATION = re.compile(r" (for|every) ")
_TAKING_SOMETHING = _stemmed(
    r" (on|take|taking|took|use|using|drink|drinking|eat|eating) "
    r"(?!my |his |her |the (left|right) |both |either |and |off )(\w+ ){1,2}$"
)
"""A duration right after "on steroids", "taking magnesium" or "drinking coffee" says how
long or how often something was taken, not how long the twitching has lasted: "i've been on
steroids for a few months, could they cause this" and "i take magnesium every day" are about
the medicine. "On my eyelid for weeks" is still a long-lasting twitch."""


def _hit(joined: str, patterns: list[re.Pattern[str]], about_ok: bool = False) -> bool:
    for pattern in patterns:
        for m in pattern.finditer(joined):
            if _negated(joined, m.start(), m.group(0)):
                continue
            before = joined[: m.start() + 1]
            if _DURATION.match(m.group(0)) and _TAKING_SOMETHING.search(before):
                continue
            if about_ok and _ABOUT.search(joined[: m.start()]):
                continue
            return True
    return False


def _negated(joined: str, start: int, matched: str) -> bool:
    """True when a negation stands just before a sign that has none of its own."""
    if any(f" {n} " in matched for n in _NEGATORS):
        return False
    before = joined[:start].split()[-_NEGATION_WINDOW:]
    return any(word in _NEGATORS for word in before)
