"""Conversation: one pure function from (state, what was heard) to (new state, answer).

Safety first (emergencies, then red flags, even inside another question), then follow-ups
(more, why, repeat, a pending "did you mean"), then topic answers. No I/O: the shells (CLI,
voice loop) render the ``Answer`` and apply its ``action``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from assistant import safety
from assistant import settings as speech_settings
from assistant.knowledge import Knowledge
from assistant.nlu.loader import TOPIC_SLOT, IntentSet
from assistant.nlu.matcher import NEAR_TIE_RATIO, Matcher
from assistant.stages import Answer, IntentMatch, Transcript

CONTROL_INTENTS = frozenset(
    {
        "help",
        "more",
        "repeat",
        "why",
        "stop",
        "goodbye",
        "thanks",
        "greeting",
        "slower",
        "faster",
        "louder",
        "quieter",
        "normal_speed",
    }
)
"""Intents the dialogue handles itself; every other intent needs a knowledge answer."""

SETTING_ACTIONS = {
    "slower": speech_settings.slower,
    "faster": speech_settings.faster,
    "louder": speech_settings.louder,
    "quieter": speech_settings.quieter,
    "normal_speed": speech_settings.normal_speed,
}
"""Spoken setting changes and the pure functions that apply them (limits live there)."""

MIN_ASR_CONFIDENCE = 0.45
"""Below this recogniser confidence, only an exact template match is trusted."""
CLARIFY_BELOW = 0.75
"""Only a fuzzy match weaker than this can turn into a "did you mean" question."""
MIN_TOPIC_FOR_RED_FLAG = 0.3
PLACE_TOPICS = frozenset({"eyelid", "calf", "all_over"})
"""Topics that say where the twitch is, not what the question is about."""
MIN_CONTEXT_CONFIDENCE = 0.3
"""A vague follow-up read against the current topic must match at least this well."""

_PRONOUN = re.compile(r"\b(it|this|that|them)\b")
_FIRST = re.compile(r"\b(yes|yeah|yep|first|former|the first one|that one)\b")
_SECOND = re.compile(r"\b(second|latter|other one|the other|last one)\b")


@dataclass(frozen=True)
class State:
    """Per-conversation memory."""

    topic: str | None = None
    """Answer id of the last topic answered (for more, why, tell me more)."""
    said_more: bool = False
    last_reply: str | None = None
    """What was last said, for "repeat"."""
    disclaimer_given: bool = False
    choices: tuple[str, ...] = ()
    """Answer ids offered in a pending "Did you mean X or Y?"."""
    settings: speech_settings.Settings = field(default_factory=speech_settings.Settings)
    """Speech rate, volume and the rest: changed by "slower", "louder"...; the voice shell
    saves and applies them, text commands just record them."""
    turns: int = 0


class Skill:
    """The twitching skill: loaded data plus the matcher, with a pure ``turn``."""

    def __init__(self, intents: IntentSet, knowledge: Knowledge) -> None:
        self.intents = intents
        self.knowledge = knowledge
        self.matcher = Matcher(intents, frozenset(knowledge.answers))

    # -- matching --------------------------------------------------------------------------
    def understand(self, heard: str | Transcript) -> IntentMatch:
        """Match text, or the best of a recogniser's alternatives."""
        if isinstance(heard, str):
            return self.matcher.match(heard)
        options = [(heard.text, heard.confidence)]
        options += [(a.text, a.confidence) for a in heard.alternatives if a.text != heard.text]
        best: IntentMatch | None = None
        best_score = -1.0
        for text, asr_confidence in options:
            if not text.strip():
                continue
            found = self.matcher.match(text)
            if found.intent is None:
                continue
            if found.method != "exact" and asr_confidence < MIN_ASR_CONFIDENCE:
                continue
            score = found.confidence * (0.5 + 0.5 * asr_confidence)
            if score > best_score:
                best, best_score = found, score
        if best is not None:
            return best
        if not heard.text.strip():
            return IntentMatch(None, 0.0, method="empty")
        found = self.matcher.match(heard.text)
        if found.method != "exact" and heard.confidence < MIN_ASR_CONFIDENCE:
            return replace(found, intent=None, slots={}, method="low_confidence")
        return found

    # -- the turn --------------------------------------------------------------------------
    def turn(self, state: State, heard: str | Transcript) -> tuple[State, Answer]:
        """Answer one utterance; returns the new state and what to say."""
        text = heard if isinstance(heard, str) else heard.text
        state = replace(state, turns=state.turns + 1)
        if not text.strip():
            return self._say(state, self._message("not_understood"), None, 0.0, "not_understood")
        verdict = safety.check(text, self.intents.heard_words(text))
        if verdict.level == safety.EMERGENCY:
            return self._say(state, self.knowledge.safety.emergency, "emergency", 1.0, "emergency")
        found = self.understand(heard)
        if verdict.level == safety.RED_FLAG:
            return self._red_flag(state, verdict, found, text)
        if state.choices:
            resolved = self._resolve_choice(state, text, found)
            if resolved is not None:
                confidence = found.confidence if found.intent == resolved else 1.0
                return self._topic(replace(state, choices=()), resolved, confidence)
            state = replace(state, choices=())
        if found.method == "everyday" and state.topic and found.runner_up:
            # Mid-conversation, "should i stop exercising then" is a follow-up, not a
            # question about exercise in general (which the matcher declines on its own).
            found = replace(
                found, intent=found.runner_up, slots={}, method="everyday_in_context"
            )
        if found.intent is None and state.topic and found.method != "animal":
            found = self._in_context(state, text, found)
        if found.intent is None:
            if not isinstance(heard, str) and heard.confidence < MIN_ASR_CONFIDENCE:
                return self._say(
                    state, self._message("not_understood"), None, 0.0, "not_understood"
                )
            if found.method == "empty":
                return self._say(
                    state, self._message("not_understood"), None, 0.0, "not_understood"
                )
            if found.method == "animal":
                return self._say(state, self._message("animal"), None, found.confidence, "decline")
            return self._say(
                state, self._message("out_of_scope"), None, found.confidence, "decline"
            )
        if found.intent in CONTROL_INTENTS:
            return self._control(state, found)
        if found.intent not in self.knowledge.answers:
            return self._say(
                state, self._message("out_of_scope"), None, found.confidence, "decline"
            )
        if found.intent == state.topic and " more" in f" {found.text} ":
            return self._more(state, found)
        clarify = self._maybe_clarify(state, found)
        if clarify is not None:
            return clarify
        return self._topic(state, found.intent, found.confidence)

    def _in_context(self, state: State, text: str, found: IntentMatch) -> IntentMatch:
        """Read a vague follow-up ("does it work?", "what will they do?") as being about the
        current topic, but only when it holds no word from outside our vocabulary."""
        entry = self.knowledge.answers.get(state.topic or "")
        if entry is None or self.matcher.unknown_words(text):
            return found
        with_topic, count = _PRONOUN.subn(entry.title, text, count=1)
        retry = self.matcher.match(with_topic if count else f"{text} {entry.title}")
        if retry.intent is None or retry.confidence < MIN_CONTEXT_CONFIDENCE:
            return found
        return replace(retry, confidence=round(retry.confidence * 0.9, 3), method="context")

    # -- replies ---------------------------------------------------------------------------
    def _topic(self, state: State, answer_id: str, confidence: float) -> tuple[State, Answer]:
        entry = self.knowledge.answers[answer_id]
        text, state = self._with_disclaimer(state, entry.text)
        state = replace(state, topic=answer_id, said_more=False)
        return self._say(state, text, answer_id, confidence, "answer")

    def _red_flag(self, state, verdict, found: IntentMatch, text: str) -> tuple[State, Answer]:
        kb = self.knowledge.safety
        parts = [kb.red_flag_lead[verdict.kinds[0]], kb.red_flag_advice]
        topic = found.intent if found.intent in self.knowledge.answers else None
        if topic is None or found.confidence < MIN_TOPIC_FOR_RED_FLAG:
            topic = self._named_topic(text)
        if topic:
            entry = self.knowledge.answers[topic]
            parts.append(f"About {entry.title}: {_first_sentence(entry.text)}")
            state = replace(state, topic=topic, said_more=False)
        text, state = self._with_disclaimer(state, " ".join(parts))
        return self._say(state, text, "red_flag", 1.0, "safety")

    def _control(self, state: State, found: IntentMatch) -> tuple[State, Answer]:
        intent, confidence = found.intent or "", found.confidence
        if intent == "repeat":
            text = state.last_reply or self._message("nothing_yet")
            return state, Answer(text, intent, confidence, "control", action="repeat")
        if intent == "more":
            return self._more(state, found)
        if intent == "why":
            entry = self.knowledge.answers.get(state.topic or "")
            if entry is None:
                return self._say(state, self._message("nothing_yet"), intent, confidence, "control")
            text = entry.why or self._message("why_none").format(title=entry.title)
            return self._say(state, text, intent, confidence, "control")
        if intent == "goodbye":
            fresh = State(settings=state.settings)
            return fresh, Answer(
                self._message("goodbye"), intent, confidence, "control", action="end"
            )
        if intent == "stop":
            return state, Answer(
                self._message("stop"), intent, confidence, "control", action="stop"
            )
        if intent in SETTING_ACTIONS:
            return self._setting(state, intent, confidence)
        return self._say(state, self._message(intent), intent, confidence, "control")

    def _more(self, state: State, found: IntentMatch) -> tuple[State, Answer]:
        entry = self.knowledge.answers.get(state.topic or "")
        if entry is None:
            return self._say(
                state, self._message("nothing_yet"), "more", found.confidence, "control"
            )
        if state.said_more:
            text = self._message("more_end").format(title=entry.title)
        else:
            text = entry.more
            state = replace(state, said_more=True)
        return self._say(state, text, "more", found.confidence, "control")

    def _setting(self, state: State, intent: str, confidence: float) -> tuple[State, Answer]:
        changed, at_limit = SETTING_ACTIONS[intent](state.settings)
        if at_limit and intent != "normal_speed":  # already normal is still an answer
            return self._say(state, self._message("settings_limit"), intent, confidence, "control")
        state = replace(state, settings=changed)
        text = self._message(intent)
        return state, Answer(text, intent, confidence, "control", action=intent)

    def _maybe_clarify(self, state: State, found: IntentMatch) -> tuple[State, Answer] | None:
        runner = found.runner_up
        if (
            found.method != "fuzzy"
            or runner is None
            or runner == found.intent
            or runner not in self.knowledge.answers
            or found.confidence >= CLARIFY_BELOW
            or found.runner_up_confidence < NEAR_TIE_RATIO * found.confidence
        ):
            return None
        first = self.knowledge.answers[found.intent or ""]
        second = self.knowledge.answers[runner]
        text = self._message("clarify").format(first=first.title, second=second.title)
        state = replace(state, choices=(first.id, second.id))
        return self._say(state, text, found.intent, found.confidence, "clarify")

    def _resolve_choice(self, state: State, text: str, found: IntentMatch) -> str | None:
        if found.intent in state.choices:
            return found.intent
        lowered = text.lower()
        if _SECOND.search(lowered):
            return state.choices[1]
        if _FIRST.search(lowered):
            return state.choices[0]
        for choice in state.choices:
            title = self.knowledge.answers[choice].title.lower()
            if title and title in lowered:
                return choice
        return None

    def _named_topic(self, text: str) -> str | None:
        """The last {topic} value said outright ("..., is it caffeine"), places aside."""
        if TOPIC_SLOT not in self.intents.grammar.lists:
            return None
        said = " " + " ".join(self.intents.normalize(text)) + " "
        best, best_at = None, -1
        for phrase, value in self.intents.list_values(TOPIC_SLOT).items():
            if value in PLACE_TOPICS or value not in self.knowledge.answers:
                continue
            at = said.rfind(" " + phrase)
            if at > best_at:
                best, best_at = value, at
        return best

    # -- helpers ---------------------------------------------------------------------------
    def _with_disclaimer(self, state: State, text: str) -> tuple[str, State]:
        if state.disclaimer_given:
            return text, state
        return f"{text} {self.knowledge.disclaimer}", replace(state, disclaimer_given=True)

    def _message(self, key: str) -> str:
        return self.knowledge.messages[key]

    @staticmethod
    def _say(
        state: State, text: str, intent: str | None, confidence: float, kind: str
    ) -> tuple[State, Answer]:
        return replace(state, last_reply=text), Answer(text, intent, round(confidence, 3), kind)


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text
