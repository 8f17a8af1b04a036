"""The conversation: follow-ups, controls, settings, the disclaimer, safety answers, near-tie
clarification, and recogniser transcripts (confidence, n-best)."""

from __future__ import annotations

import pytest

from assistant.app import load_data
from assistant.dialogue import Skill, State
from assistant.stages import Alternative, Answer, Transcript, Urgency


@pytest.fixture(scope="module")
def skill() -> Skill:
    intents, kb = load_data()
    return Skill(intents, kb)


def talk(skill: Skill, *said: str | Transcript, state: State | None = None):
    """Run turns; returns the final state and every answer."""
    state = state or State()
    answers: list[Answer] = []
    for text in said:
        state, answer = skill.turn(state, text)
        answers.append(answer)
    return state, answers


def msg(skill: Skill, key: str, **values: str) -> str:
    return skill.knowledge.messages[key].format(**values)


def entry(skill: Skill, answer_id: str):
    return skill.knowledge.answers[answer_id]


# -- topic answers ---------------------------------------------------------------------------
def test_a_topic_question_is_answered_with_the_disclaimer(skill: Skill) -> None:
    state, (answer,) = talk(skill, "what causes muscle twitching")
    assert (answer.intent, answer.kind, answer.confidence) == ("causes", "answer", 1.0)
    assert answer.text.startswith(entry(skill, "causes").text)
    assert answer.text.endswith(skill.knowledge.disclaimer)
    assert state.topic == "causes"


def test_disclaimer_exactly_once_per_conversation(skill: Skill) -> None:
    said = [
        "what causes muscle twitching",
        "what about coffee",
        "tell me more",
        "my hand twitches and feels weak",
        "why is my eyelid twitching",
        "how long does twitching last",
    ]
    _, answers = talk(skill, *said)
    disclaimer = skill.knowledge.disclaimer
    assert sum(a.text.count(disclaimer) for a in answers) == 1
    # A new conversation says it again.
    _, (again,) = talk(skill, "what about coffee")
    assert disclaimer in again.text


def test_state_is_not_mutated(skill: Skill) -> None:
    state = State()
    new, first = skill.turn(state, "what about coffee")
    assert state == State()
    assert skill.turn(state, "what about coffee") == (new, first)


# -- follow-ups ----------------------------------------------------------------------------
def test_tell_me_more_then_more_again(skill: Skill) -> None:
    _, (_, more, again) = talk(skill, "what about caffeine", "tell me more", "tell me more")
    assert (more.intent, more.kind) == ("more", "control")
    assert more.text == entry(skill, "caffeine").more
    assert again.text == msg(skill, "more_end", title=entry(skill, "caffeine").title)


def test_more_before_any_topic(skill: Skill) -> None:
    _, (answer,) = talk(skill, "tell me more")
    assert answer.text == msg(skill, "nothing_yet")


@pytest.mark.parametrize("repeat", ["say that again", "repeat", "repeat that", "come again"])
def test_say_that_again_repeats_exactly(skill: Skill, repeat: str) -> None:
    _, (first, second) = talk(skill, "why is my eyelid twitching", repeat)
    assert second.intent == "repeat"
    assert second.action == "repeat"
    assert second.text == first.text


def test_repeat_after_more_repeats_the_more(skill: Skill) -> None:
    _, answers = talk(skill, "what about magnesium", "tell me more", "say that again")
    assert answers[2].text == answers[1].text == entry(skill, "magnesium").more


def test_repeat_before_anything(skill: Skill) -> None:
    _, (answer,) = talk(skill, "say that again")
    assert answer.text == msg(skill, "nothing_yet")


def test_what_about_another_topic(skill: Skill) -> None:
    state, (_, second, third) = talk(
        skill, "why do my muscles twitch", "what about magnesium", "and what about b twelve"
    )
    assert second.intent == "magnesium"
    assert second.text.startswith(entry(skill, "magnesium").text)
    assert third.intent == "vitamin_b12"
    assert state.topic == "vitamin_b12"


def test_everyday_question_is_declined_alone_but_followed_up_in_a_conversation(skill) -> None:
    _, (alone,) = talk(skill, "how long should a workout be")
    assert alone.intent is None and alone.kind == "decline"
    _, (_, follow_up) = talk(
        skill, "my calves twitch after a long run", "should i stop exercising then"
    )
    assert follow_up.intent in ("exercise", "after_exercise")


def test_why_gives_the_reason_for_the_current_topic(skill: Skill) -> None:
    _, (_, why) = talk(skill, "can coffee cause twitching", "why")
    assert why.intent == "why"
    assert why.text == entry(skill, "caffeine").why


def test_why_without_a_reason_and_without_a_topic(skill: Skill) -> None:
    no_reason = next(e for e in skill.knowledge.answers.values() if not e.why)
    _, (answer,) = talk(skill, "why", state=State(topic=no_reason.id))
    assert answer.text == msg(skill, "why_none", title=no_reason.title)
    _, (answer,) = talk(skill, "why")
    assert answer.text == msg(skill, "nothing_yet")


@pytest.mark.parametrize("said", ["help", "what can i ask", "what can you do"])
def test_help(skill: Skill, said: str) -> None:
    _, (answer,) = talk(skill, said)
    assert (answer.intent, answer.kind, answer.text) == ("help", "control", msg(skill, "help"))


@pytest.mark.parametrize("said", ["stop", "cancel", "be quiet"])
def test_stop_keeps_the_conversation(skill: Skill, said: str) -> None:
    state, (_, answer) = talk(skill, "what about coffee", said)
    assert answer.action == "stop"
    assert answer.intent == "stop"
    assert state.topic == "caffeine"
    _, (more,) = talk(skill, "tell me more", state=state)
    assert more.text == entry(skill, "caffeine").more


@pytest.mark.parametrize("said", ["thanks bye", "goodbye", "that's all thanks"])
def test_goodbye_ends_and_resets_the_conversation(skill: Skill, said: str) -> None:
    state, (_, _, answer) = talk(skill, "what about coffee", "slower", said)
    assert answer.action == "end"
    assert answer.text == msg(skill, "goodbye")
    assert state.topic is None
    assert not state.disclaimer_given
    assert state.settings.rate < State().settings.rate  # the speech settings survive
    _, (fresh,) = talk(skill, "what about coffee", state=state)
    assert skill.knowledge.disclaimer in fresh.text


def test_thanks_alone_does_not_end(skill: Skill) -> None:
    _, (_, answer) = talk(skill, "what about coffee", "thank you")
    assert answer.intent == "thanks"
    assert answer.action is None


def _press(skill: Skill, state: State, said: str, limit: int = 50):
    """Say ``said`` until the setting stops moving; returns the state, steps and last answer."""
    for steps in range(limit):
        before = state.settings.rate
        state, answer = skill.turn(state, said)
        if answer.action is None:
            assert state.settings.rate == before
            return state, steps, answer
        assert answer.action in {"slower", "faster"}
    raise AssertionError(f"{said!r} never reached a limit")


def test_slower_and_faster_are_recorded_with_limits(skill: Skill) -> None:
    default = State().settings.rate
    state, answer = skill.turn(State(), "slower")
    assert answer.action == "slower"
    assert answer.text == msg(skill, "slower")
    assert state.settings.rate < default
    state, steps, answer = _press(skill, state, "slower")
    assert steps >= 1
    assert answer.text == msg(skill, "settings_limit")
    slowest = state.settings.rate
    state, answer = skill.turn(state, "faster")
    assert (answer.action, answer.text) == ("faster", msg(skill, "faster"))
    assert state.settings.rate > slowest
    state, answer = skill.turn(state, "normal speed")
    assert answer.action == "normal_speed"
    assert state.settings.rate == default
    state, steps, answer = _press(skill, state, "speak faster")
    assert steps >= 1
    assert answer.text == msg(skill, "settings_limit")
    assert state.settings.rate > default


def test_normal_speed_at_the_default_rate_is_acknowledged(skill: Skill) -> None:
    _, answer = skill.turn(State(), "normal speed")
    assert answer.text == msg(skill, "normal_speed")


def test_settings_are_per_conversation_state(skill: Skill) -> None:
    slow, _ = skill.turn(State(), "slower")
    _, answer = skill.turn(State(), "what about coffee")
    assert answer.intent == "caffeine"
    assert State().settings.rate > slow.settings.rate


def test_settings_do_not_lose_the_topic(skill: Skill) -> None:
    state, (_, _, more) = talk(skill, "what about calcium", "slower please", "tell me more")
    assert more.text == entry(skill, "calcium").more
    assert state.settings.rate < State().settings.rate


# -- safety in the conversation ----------------------------------------------------------
def test_red_flag_inside_a_question_leads_with_doctor_advice_and_the_topic(skill: Skill):
    kb = skill.knowledge
    weakness = skill.lexicon.kinds["doctor/weakness"]
    _, (answer,) = talk(skill, "my arm has got weak, could it be caffeine")
    assert (answer.intent, answer.kind, answer.urgency) == ("red_flag", "safety", Urgency.DOCTOR)
    assert answer.text.startswith(weakness.lead)
    assert kb.safety.red_flag_advice in answer.text
    assert answer.text.index("doctor") < answer.text.lower().index("about caffeine")
    assert "emergency services" in answer.text  # only as the "if it gets worse" advice
    assert not answer.text.startswith(kb.safety.emergency)


@pytest.mark.parametrize(
    "said",
    [
        "can caffeine cause twitching and weakness",
        "does als always start with weakness",
        "what does a seizure look like",
        "is twitching a sign of a stroke",
    ],
)
def test_a_general_question_about_a_sign_is_a_topic_not_an_alarm(skill: Skill, said: str):
    _, (answer,) = talk(skill, said)
    assert answer.urgency is None
    assert answer.kind == "answer"


def test_red_flag_example_from_the_issue_mentions_caffeine(skill: Skill) -> None:
    _, (answer,) = talk(skill, "my hand twitches and feels weak, is it caffeine")
    assert answer.kind == "safety"
    assert "doctor" in answer.text
    assert "caffeine" in answer.text.lower()


def test_weeks_of_twitching_answer_the_question_and_close_with_the_advice(skill: Skill):
    """Twitching for weeks calls for a routine visit (NHS: after two weeks): the person's
    question is answered, and the advice closes the answer with the urgency still set."""
    persistent = skill.lexicon.kinds["doctor/persistent"]
    _, (answer,) = talk(skill, "my eyelid has been twitching for three weeks, is it caffeine")
    assert (answer.intent, answer.kind, answer.urgency) == ("caffeine", "answer", Urgency.DOCTOR)
    assert answer.text.endswith(persistent.lead)
    assert answer.text.startswith(skill.knowledge.answers["caffeine"].text.split(".")[0])


def test_spreading_twitches_answer_the_question_and_close_with_the_advice(skill: Skill):
    """Spreading calls for a doctor's check, and the question asked is answered first; the
    closing advice already sends them to a doctor, so the disclaimer waits for the next
    answer (short for the ear), and is said there."""
    spreading = skill.lexicon.kinds["doctor/spreading"]
    _, (answer, later) = talk(
        skill, "my twitching started in my eyelid and has spread to my calves, is it stress",
        "can coffee make it worse",
    )
    assert (answer.kind, answer.urgency) == ("answer", Urgency.DOCTOR)
    assert answer.intent == "anxiety"
    assert answer.text.endswith(spreading.lead)
    assert skill.knowledge.disclaimer not in answer.text
    assert skill.knowledge.disclaimer in later.text


def test_weakness_with_weeks_of_twitching_still_leads_with_the_advice(skill: Skill) -> None:
    _, (answer,) = talk(skill, "my calf has twitched for three weeks and my leg feels weak")
    assert (answer.intent, answer.kind, answer.urgency) == ("red_flag", "safety", Urgency.DOCTOR)
    assert answer.text.startswith(skill.lexicon.kinds["doctor/weakness"].lead)


def test_red_flag_alone_gets_doctor_advice(skill: Skill) -> None:
    _, (answer,) = talk(skill, "my twitching keeps spreading to new muscles")
    assert (answer.intent, answer.kind) == ("red_flag", "safety")
    assert "doctor" in answer.text


@pytest.mark.parametrize(
    "said",
    ["i can't breathe", "my dad just collapsed", "her face is drooping", "i have chest pain"],
)
def test_emergency_answer(skill: Skill, said: str) -> None:
    _, (_, answer) = talk(skill, "what about coffee", said)
    assert (answer.intent, answer.kind, answer.confidence) == ("emergency", "emergency", 1.0)
    assert answer.urgency is Urgency.EMERGENCY
    assert answer.text.startswith(skill.knowledge.safety.emergency)
    assert "call emergency services now" in answer.text.lower()
    assert answer.closing == "Call emergency services now."  # said once more at the end


@pytest.mark.parametrize("said", ["she's having a see sure", "i can't breed"])
def test_misheard_emergency_is_still_an_emergency(skill: Skill, said: str) -> None:
    _, (answer,) = talk(skill, said)
    assert answer.kind == "emergency"


# -- declines ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "said", ["what's the weather like today", "tell me a joke", "i broke my arm"]
)
def test_out_of_scope_is_declined_with_the_menu(skill: Skill, said: str) -> None:
    _, (answer,) = talk(skill, said)
    assert (answer.intent, answer.kind) == (None, "decline")
    assert answer.text == msg(skill, "out_of_scope")
    facts = {e.text for e in skill.knowledge.answers.values()}
    assert not any(fact in answer.text for fact in facts)


@pytest.mark.parametrize("said", ["", "   ", "?!"])
def test_nothing_said_is_not_understood(skill: Skill, said: str) -> None:
    _, (answer,) = talk(skill, said)
    assert (answer.intent, answer.kind) == (None, "not_understood")
    assert answer.text == msg(skill, "not_understood")


# -- near ties -----------------------------------------------------------------------------
NEAR_TIE = "twitching when when i go to sleep"


def test_near_tie_asks_back(skill: Skill) -> None:
    state, (answer,) = talk(skill, NEAR_TIE)
    assert answer.kind == "clarify"
    first, second = (entry(skill, c).title for c in state.choices)
    assert answer.text == msg(skill, "clarify", first=first, second=second)
    assert set(state.choices) == {"sleep", "sleep_starts"}


@pytest.mark.parametrize(
    ("reply", "index"),
    [("the first one", 0), ("the second one", 1), ("yes", 0), ("the other one", 1)],
)
def test_answering_a_choice_resolves_it(skill: Skill, reply: str, index: int) -> None:
    state, _ = talk(skill, NEAR_TIE)
    chosen = state.choices[index]
    state, (answer,) = talk(skill, reply, state=state)
    assert (answer.intent, answer.kind) == (chosen, "answer")
    assert answer.text.startswith(entry(skill, chosen).text)
    assert state.choices == ()


@pytest.mark.parametrize("choice", ["sleep", "at_night"])
def test_naming_a_choice_resolves_it(skill: Skill, choice: str) -> None:
    state, _ = talk(skill, NEAR_TIE)
    _, (answer,) = talk(skill, entry(skill, choice).title, state=state)
    assert answer.intent == choice


def test_resolved_choice_has_a_real_confidence(skill: Skill) -> None:
    state, _ = talk(skill, NEAR_TIE)
    _, (answer,) = talk(skill, "the first one", state=state)
    assert answer.confidence >= 0.5


def test_a_new_question_drops_the_pending_choice(skill: Skill) -> None:
    state, _ = talk(skill, NEAR_TIE)
    state, (answer,) = talk(skill, "what about coffee", state=state)
    assert answer.intent == "caffeine"
    assert state.choices == ()


# -- transcripts from a recogniser -----------------------------------------------------------
def test_low_confidence_gibberish_is_not_understood(skill: Skill) -> None:
    _, (answer,) = talk(skill, Transcript("flarb nog zent", confidence=0.2))
    assert (answer.intent, answer.kind) == (None, "not_understood")
    assert answer.text == msg(skill, "not_understood")


def test_low_confidence_exact_match_is_still_answered(skill: Skill) -> None:
    _, (answer,) = talk(skill, Transcript("what causes muscle twitching", confidence=0.2))
    assert answer.intent == "causes"


def test_low_confidence_without_exact_match_is_not_understood(skill: Skill) -> None:
    heard = Transcript("can coffee make you twitch", confidence=0.2)
    assert skill.matcher.match(heard.text).method != "exact"
    _, (answer,) = talk(skill, heard)
    assert (answer.intent, answer.kind) == (None, "not_understood")


def test_n_best_alternative_that_matches_is_used(skill: Skill) -> None:
    heard = Transcript(
        "what is the weather",
        confidence=0.6,
        alternatives=(
            Alternative("what is the weather", 0.6),
            Alternative("what causes muscle twitching", 0.5),
        ),
    )
    _, (answer,) = talk(skill, heard)
    assert answer.intent == "causes"
    assert skill.understand(heard).intent == "causes"


def test_n_best_prefers_the_better_supported_alternative(skill: Skill) -> None:
    heard = Transcript(
        "what about cough fee",
        confidence=0.9,
        alternatives=(Alternative("what about coffee", 0.8), Alternative("what about tea", 0.1)),
    )
    assert skill.understand(heard).intent == "caffeine"


def test_typed_text_and_a_confident_transcript_agree(skill: Skill) -> None:
    for said in ["what about magnesium", "why is my eyelid twitching", "tell me a joke"]:
        _, (typed,) = talk(skill, said)
        _, (heard,) = talk(skill, Transcript(said, confidence=1.0))
        assert (typed.intent, typed.text) == (heard.intent, heard.text)


def test_a_twitching_pet_is_sent_to_a_vet_even_mid_conversation(skill: Skill) -> None:
    said = ("why do my eyelids twitch", "why does my dog twitch when he's asleep")
    _, (_, answer) = talk(skill, *said)
    assert (answer.intent, answer.kind, answer.text) == (None, "decline", msg(skill, "animal"))


def test_an_unrelated_question_after_a_topic_is_declined_not_read_in_context(skill) -> None:
    _, (_, answer) = talk(skill, "can coffee cause this", "whats the weather")
    assert (answer.intent, answer.kind) == (None, "decline")


# -- safety across the conversation (issue 9) -------------------------------------------------
@pytest.mark.parametrize("follow_up", ["what do i do", "it's still going", "help", "what now"])
def test_an_emergency_is_remembered(skill: Skill, follow_up: str) -> None:
    state, (first, second) = talk(skill, "my grandad has just collapsed in the garden", follow_up)
    assert first.urgency is second.urgency is Urgency.EMERGENCY
    collapse = skill.lexicon.kinds["emergency/collapse"]
    assert collapse.steps in second.text
    assert second.closing and "emergency services" in second.closing
    assert state.emergency == "emergency/collapse"


def test_a_new_emergency_sign_in_a_follow_up_is_its_own_emergency(skill: Skill) -> None:
    _, (_, answer) = talk(skill, "he fainted", "and now he's not waking up")
    assert answer.urgency is Urgency.EMERGENCY


def test_help_arriving_ends_emergency_mode(skill: Skill) -> None:
    state, (_, over, after) = talk(
        skill, "she can't breathe", "the paramedics are here", "why does my eye twitch"
    )
    assert over.intent == "emergency_over" and over.urgency is None
    assert state.emergency is None and after.intent == "eyelid"


def test_a_danger_in_a_later_turn_is_judged(skill: Skill) -> None:
    _, (first, second) = talk(skill, "my dad's arm keeps twitching", "and now his face is drooping")
    assert first.urgency is None
    assert second.urgency is Urgency.EMERGENCY


def test_a_pet_named_in_the_previous_turn_is_still_a_pet(skill: Skill) -> None:
    _, (_, answer) = talk(skill, "my dog keeps twitching in his sleep", "now he's having a fit")
    assert answer.urgency is None
    assert answer.text == skill.knowledge.safety.animal


def test_a_possible_emergency_leads_with_if_this_is_happening_now(skill: Skill) -> None:
    _, (answer,) = talk(skill, "what should i do if my husband has a seizure")
    assert answer.urgency is None
    assert answer.text.startswith("If this is happening now, call emergency services")


def test_a_danger_word_is_never_met_with_a_bare_decline(skill: Skill) -> None:
    _, (answer,) = talk(skill, "what is the treatment for a stroke")
    assert answer.kind != "decline"
    assert "emergency services" in answer.text


def test_a_sign_the_person_does_not_have_gets_no_advice_about_it(skill: Skill) -> None:
    _, (answer,) = talk(skill, "my eyelid twitches but i have no weakness and nothing spreads")
    assert answer.urgency is None
    assert "weakness needs" not in answer.text


def test_the_emergency_number_comes_from_the_locale_or_the_setting(skill: Skill) -> None:
    from assistant.settings import Settings

    uk = skill.initial_state(locale_name="en_GB.UTF-8")
    _, answer = skill.turn(uk, "i have crushing chest pain")
    assert "Call emergency services on nine nine nine now." in answer.text
    chosen = skill.initial_state(Settings(emergency_number="112"), "en_US.UTF-8")
    _, answer = skill.turn(chosen, "i have crushing chest pain")
    assert "on one one two now" in answer.text
    unknown = skill.initial_state(locale_name="C.UTF-8")
    _, answer = skill.turn(unknown, "i have crushing chest pain")
    assert "Call emergency services now." in answer.text


def test_a_figurative_idiom_does_not_hide_the_question(skill: Skill) -> None:
    _, (answer,) = talk(skill, "my kids nearly gave me a heart attack, can stress cause twitching")
    assert answer.urgency is None and answer.intent == "anxiety"


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("my seven year old keeps jerking his head to one side and blinking hard, should i worry",
         "child_tics"),
        ("our three week old twitches her arms while she sleeps is that ok", "baby"),
        ("my toddler's leg jumps every night when he falls asleep", "baby"),
    ],
)
def test_a_story_about_a_baby_or_child_gets_the_answer_about_them(
    skill: Skill, said: str, expected: str
) -> None:
    _, (answer,) = talk(skill, said)
    assert (answer.intent, answer.kind) == (expected, "answer")


def test_a_twenty_two_year_old_is_not_a_child(skill: Skill) -> None:
    _, (answer,) = talk(skill, "my twenty two year old son gets twitches after the gym")
    assert answer.intent == "after_exercise"


def test_weeks_of_a_rash_are_not_weeks_of_twitching(skill: Skill) -> None:
    _, (answer,) = talk(skill, "i've had this rash on my neck for two or three weeks, what is it")
    assert answer.urgency is None


def test_a_follow_up_about_how_long_counts_with_the_twitch_said_before(skill: Skill) -> None:
    _, (_, answer) = talk(skill, "why does my eyelid twitch", "it has gone on for ages")
    assert answer.urgency is Urgency.DOCTOR
    assert answer.intent != "age"


def test_no_question_back_when_the_story_says_it_is_about_a_baby(skill: Skill) -> None:
    _, (answer,) = talk(skill, "my baby is two weeks old and in her sleep she does a rhythmic "
                               "little twitch that stops when we wake her, is that normal")
    assert (answer.intent, answer.kind) == ("baby", "answer")
