"""Safety decisions: red flags (alone and inside other questions), negations, emergencies, and
no emergency advice for benign questions. Each case runs the real sign lexicon and context
triggers through the situation reader and ``safety.assess``."""

from __future__ import annotations

import random
import time

import pytest
from eval_runner import load_cases

from assistant import safety
from assistant.app import load_signs
from assistant.situation import read
from assistant.stages import Urgency

EMERGENCY = Urgency.EMERGENCY
RED_FLAG = Urgency.DOCTOR
LEXICON = load_signs()
RED_FLAG_ORDER = tuple(
    kind.name for key, kind in LEXICON.kinds.items() if key.startswith("doctor/")
)


class Verdict:
    """The old test vocabulary over the new decision: ``level`` and ``kinds``."""

    def __init__(self, text: str) -> None:
        self.verdict = safety.assess(read(text, LEXICON))
        self.level = self.verdict.urgency
        self.kinds = tuple(f.kind.name for f in self.verdict.signs)

    def __repr__(self) -> str:
        return f"Verdict({self.level}, {self.kinds}, {self.verdict})"


def check(text: str) -> Verdict:
    return Verdict(text)


# -- red flags -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("my leg feels weak", "weakness"),
        ("weakness in my arm", "weakness"),
        ("i can't grip things properly", "weakness"),
        ("my twitching has been going on for weeks", "persistent"),
        ("it twitches all the time", "persistent"),
        ("the twitching has not stopped for three weeks", "persistent"),
        ("the twitching is spreading", "spreading"),
        ("it keeps getting worse", "spreading"),
        ("my muscles are wasting away", "wasting"),
        ("my calf looks thinner", "wasting"),
        ("i keep falling over", "falls"),
        ("i tripped twice today", "falls"),
        ("i keep dropping things", "falls"),
        ("trouble swallowing", "swallowing"),
        ("i have difficulty speaking", "speech"),
        ("my speech has been getting slurred over the past few months", "speech"),
        ("i am short of breath", "breathing"),
        ("it is hard to breathe", "breathing"),
        # Pattern words that the stemmer shortens ("everywhere" -> "everywher", "ages" ->
        # "age", "unable" -> "unabl"): these were missed before patterns were stemmed too.
        ("now it is everywhere", "spreading"),
        ("it used to be just my eyelid but now the twitches are everywhere", "spreading"),
        ("it moved to other places", "spreading"),
        ("my twitching has gone on for ages", "persistent"),
        ("the twitching is extremely frequent", "persistent"),
        ("it twitches every single day", "persistent"),
        ("i am unable to walk far", "weakness"),
        ("i cannot get my words out", "speech"),
        ("my foot has started slapping down when i walk", "weakness"),
        ("i've been twitching on and off for weeks", "persistent"),
        ("i've had twitching on my eyelid for weeks", "persistent"),
        ("for two months my son keeps blinking", "persistent"),
        ("lately they're happening more often and they're stronger", "spreading"),
        # NHS: see a GP if you think a prescribed medicine is causing the twitch
        ("since i started prozac my legs twitch", "medicine"),
        ("they upped my dose and now i twitch all over", "medicine"),
        ("the twitching began two days after they put me on cipro", "medicine"),
        ("mum was put on a water pill last month and now her legs twitch", "medicine"),
        ("my daughter has shuddering attacks where she clenches her hands", "possible_seizure"),
        ("was that a seizure, his eyes twitched and slid to the side", "possible_seizure"),
        ("she keeps going blank for a few seconds and her eyelids flutter", "possible_seizure"),
        ("i keep fumbling my keys and dropping them", "falls"),
        ("he has had a limp for months", "falls"),
        ("i keep catching my toe on the stairs", "falls"),
        ("mum has fallen three times this week", "falls"),
        ("i keep seeing double and my eyelid droops by evening", "weakness"),
        # "a few times a day" says how often, not that it has lasted only a day
        ("for two months my calves twitch a few times a day", "persistent"),
        # NHS: stopping heavy drinking can bring shakes that need medical advice
        ("i gave up the booze on sunday and now my hands shake and my legs twitch",
         "alcohol_withdrawal"),
        ("he's a heavy drinker and quit three days ago, now he's trembling all over",
         "alcohol_withdrawal"),
        ("been drinking a lot every night for years, stopped last night, is this withdrawal",
         "alcohol_withdrawal"),
        # NHS (metoclopramide): uncontrolled tongue, jaw or neck movements after a medicine
        ("since the new anti sickness tablets his neck keeps twisting by itself and he can't "
         "stop it, he started metoclopramide on monday", "drug_movement"),
        ("she can't control her jaw since they gave her the antipsychotic", "drug_movement"),
        # BHF: twitching with a pacemaker goes to the device clinic
        ("my grandad's pacemaker was fitted last month and his tummy keeps jumping", "pacemaker"),
        ("since the defibrillator went in i get hiccups that won't quit", "pacemaker"),
        # NHS: palpitations are worth a GP's check
        ("my heart keeps racing and my eyelid twitches", "palpitations"),
        ("i get an irregular heartbeat with these calf twitches", "palpitations"),
        # NHS: new tingling or cramps after thyroid surgery, report today
        ("mum had her thyroid removed and now her fingers keep cramping", "after_surgery"),
        ("since my op on the thyroid last week my lips are tingly and my hands cramp",
         "after_surgery"),
        # an eyelid twitch that reaches the face (NHS: see a GP)
        ("my eyelid has twitched for a month and now my cheek is pulling too", "spreading"),
        ("these jerks have got a lot worse over the summer", "spreading"),
        ("my dad in memory care is jerking his arms, he's never done that before",
         "new_in_condition"),
        ("i've been off sertraline for a week and my muscles buzz", "medicine"),
        ("i was on lexapro for two years and came off it a month ago, now my legs twitch",
         "medicine"),
    ],
)
def test_red_flag_alone(text: str, kind: str) -> None:
    verdict = check(text)
    assert verdict.level == RED_FLAG, verdict
    assert kind in verdict.kinds


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("my hand twitches and feels weak, is it caffeine", "weakness"),
        ("could magnesium help my twitching which keeps spreading", "spreading"),
        ("my eyelid has twitched every day for months is that stress", "persistent"),
        ("is it normal that my calf twitches and looks thinner", "wasting"),
        ("what causes twitching and trouble swallowing", "swallowing"),
        ("does coffee make you twitch i also keep tripping", "falls"),
    ],
)
def test_red_flag_inside_another_question(text: str, kind: str) -> None:
    verdict = check(text)
    assert verdict.level == RED_FLAG, verdict
    assert kind in verdict.kinds


def test_most_urgent_red_flag_comes_first() -> None:
    verdict = check("my arm is weak and i have trouble swallowing")
    assert verdict.kinds[0] == "swallowing"
    assert list(verdict.kinds) == sorted(verdict.kinds, key=RED_FLAG_ORDER.index)


@pytest.mark.parametrize(
    "text",
    [
        "can prozac cause twitching",
        "what medicines cause muscle twitching",
        "is twitching a side effect of statins",
        "should i stop my antidepressant",
        "should i stop taking my statins if my legs twitch",
        "what does a seizure look like",
        "is twitching a sign of a seizure",
        # other kinds of withdrawal, and drinks that are not alcohol
        "is twitching a sign of nicotine withdrawal",
        "i quit drinking coffee on monday and my eyelid twitches",
        "i gave up energy drinks two days ago and my calf jumps",
        # a figure of speech, and the question whether a flutter is the heart
        "my heart skipped a beat when i read about als but do twitches mean anything",
        "can you have an irregular heartbeat from magnesium",
        # a drinking past
        "i stopped drinking five years ago and my eyelid twitches",
    ],
)
def test_a_question_about_medicines_is_not_a_red_flag(text: str) -> None:
    assert check(text).level is None


@pytest.mark.parametrize(
    "text",
    [
        "no weakness just twitching",
        "i have no weakness",
        "there is no weakness at all",
        "it isn't spreading",
        "it is not spreading and there is no weakness",
        "twitching without any weakness",
        "i'm not weak",
        "i don't feel weak",
        "twitching but no trouble swallowing",
        "not really weak but twitchy",
        # a denial inside the sign's own words
        "my muscles have never wasted or anything",
        "his calves are not shrinking",
        "my hand muscles don't look any thinner",
    ],
)
def test_negated_red_flags_are_not_flagged(text: str) -> None:
    assert check(text).level is None


@pytest.mark.parametrize(
    "text",
    [
        "twitching while falling asleep",
        "i twitch when i am falling asleep",
        "my legs jerk as i fall asleep",
        "i fell asleep on my arm and now it tingles",
        "why do i jump when i'm falling asleep",
    ],
)
def test_falling_asleep_is_not_a_fall(text: str) -> None:
    assert check(text).level is None


def test_a_real_fall_is_still_a_fall() -> None:
    assert check("i fell down the stairs").kinds == ("falls",)
    assert "falls" in check("i keep falling when i walk").kinds


# -- emergencies ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("i can't breathe", "breathing"),
        ("i cannot breathe properly", "breathing"),
        ("he is choking", "choking"),
        ("my lips are turning blue", "blue"),
        ("her face is drooping", "stroke"),
        ("my face drooped on one side", "stroke"),
        ("sudden numbness on one side of my body", "stroke"),
        ("sudden weakness in my left arm", "stroke"),
        ("i have chest pain", "chest_pain"),
        ("pain in my chest and my arm twitches", "chest_pain"),
        ("my dad collapsed", "collapse"),
        ("she passed out", "collapse"),
        ("he is unconscious", "collapse"),
        ("she is having a seizure", "seizure"),
        ("he is convulsing", "seizure"),
        ("my left arm and leg went weak all of a sudden", "stroke"),
        ("my chest is really tight and it hurts", "chest_pain"),
        ("i'm struggling to get any air in", "breathing"),
        ("her smile is drooping", "stroke"),
        ("my face went numb out of nowhere", "stroke"),
        ("my dad's speech just went slurred out of nowhere", "stroke"),
        ("my speech is slurred", "stroke"),
        # from real stories (tests/eval/corpus_dev.yaml), in other words
        ("i took the wrong pills last night and now my heart is racing", "poisoning"),
        ("she swallowed two of my sleeping tablets by mistake", "poisoning"),
        ("i stepped on a rusty nail last week and now my jaw is stiff", "tetanus"),
        ("he cut his foot and now he has lockjaw", "tetanus"),
        ("he's gone stiff and now he's jerking", "seizure"),
        ("she stopped playing and stared, shaking, and she's not responding", "seizure"),
        ("his arm won't stop jerking", "seizure"),
        ("i think my grandad has had a little stroke", "stroke"),
        ("he's slumped to one side in his chair", "stroke"),
        ("after a brutal workout my arms are swollen and my pee is brown", "muscle_breakdown"),
        ("since the new painkiller she's shaky and confused", "confusion"),
        # the same kinds in other words than the cases they came from
        ("nobody can understand a word she is saying since lunch", "stroke"),
        ("he took six of his dad's pills by mistake", "poisoning"),
        ("the skin above his collarbone sucks in every time he breathes", "breathing"),
        ("a wasp got her and now her voice has gone croaky and there are hives", "allergy"),
        ("my arms are weaker than they were an hour ago", "rapid_weakness"),
        # a hand or arm that slides off what it rested on (D004's steering wheel), elsewhere
        ("her arm just flopped off the armrest and she can't lift it", "stroke"),
        ("my fingers slipped off the handlebars and now i can't grip", "stroke"),
    ],
)
def test_emergencies(text: str, kind: str) -> None:
    verdict = check(text)
    assert verdict.level == EMERGENCY, verdict
    assert kind in verdict.kinds


def test_emergency_wins_over_red_flag() -> None:
    verdict = check("my arm is weak and now i can't breathe")
    assert verdict.level == EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        "i think i am having a stroke",
        "my dad had a stroke just now",
        "she is having a fit",
        "i cant breathe",
        "he wont wake up",
    ],
)
def test_emergencies_in_everyday_wording(text: str) -> None:
    assert check(text).level == EMERGENCY


# -- benign questions never get emergency advice -------------------------------------------
def _non_safety_turns() -> list[str]:
    said = []
    for case in load_cases():
        for turn in case.get("turns") or [case]:
            expected = turn["expect"] if isinstance(turn["expect"], list) else [turn["expect"]]
            if "emergency" not in expected and "red_flag" not in expected:
                said.append(turn["say"])
    return said


def test_no_benign_eval_case_is_an_emergency() -> None:
    said = _non_safety_turns()
    assert len(said) >= 150
    emergencies = [s for s in said if check(s).level == EMERGENCY]
    assert emergencies == []


def test_benign_eval_cases_are_rarely_red_flags() -> None:
    said = _non_safety_turns()
    flagged = [s for s in said if check(s).level == RED_FLAG]
    assert len(flagged) <= 0.02 * len(said), flagged


@pytest.mark.parametrize(
    "text",
    [
        "do breathing exercises help twitching",
        "can yoga breathing help",
        "take a deep breath",
        "my chest muscle twitches",
        "twitching in my chest",
        "can a stroke cause muscle twitching",
        "does epilepsy cause twitching",
        "what does sudden twitching mean",
        "my legs suddenly twitch",
        "my eyelid droops a bit when it twitches",
        "i am fit and healthy but my calf twitches",
        "what is a hypnic jerk",
        "does twitching mean i am dying",
    ],
)
def test_benign_questions_are_not_emergencies(text: str) -> None:
    assert check(text).level != EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        "is twitching a sign of a heart attack",
        "can twitching cause seizures",
        "is twitching the same as a seizure",
        "what is choking",
    ],
)
def test_questions_about_emergencies_are_not_emergencies(text: str) -> None:
    assert check(text).level != EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        "i've been on steroids for a few months could they be causing this twitching",
        "i have been taking magnesium for weeks is it helping",
        "i have been on the pill for years can it cause twitching",
        "i take magnesium every day but my eyelid still twitches",
        "i drink coffee every day could that be it",
    ],
)
def test_how_long_something_was_taken_is_not_how_long_it_twitched(text: str) -> None:
    # (a medicine the person takes, with a symptom, is its own kind: see below)
    assert "persistent" not in check(text).kinds


@pytest.mark.parametrize(
    "text",
    [
        "i'm on amlodipine and since the summer my calves cramp every night",
        "my dad takes bisoprolol daily and now his hands tremble",
        "i think it might be the lexapro, my legs buzz and jump at night",
        "could it really be my statin, my thighs have been twitching",
    ],
)
def test_a_medicine_taken_with_a_symptom_is_worth_a_word_with_the_prescriber(text: str) -> None:
    verdict = check(text)
    assert verdict.level == RED_FLAG and "medicine" in verdict.kinds, verdict


@pytest.mark.parametrize(
    "text",
    [
        "i'm on sertraline, can i drink coffee",
        "can statins cause twitching",
        "what are the side effects of amlodipine",
    ],
)
def test_a_medicine_without_a_symptom_is_no_red_flag(text: str) -> None:
    assert check(text).level is None


@pytest.mark.parametrize(
    "text",
    [
        # a past seizure told as the reason for a fear, and "now whenever" as a habit
        "the last time she had lots of these jerks she ended up having a big seizure so now "
        "whenever they start i get scared",
        # a cramp that "seizes"
        "my hamstring seizes when i stretch and my calf twitches",
        # a feeling described as a kind of attack
        "sometimes it nearly feels like i'm choking when my throat twitches",
        # a known progressive illness: its symptoms are told as they develop
        "my husband has ms and over the last while he's slurring a bit more and his legs twitch",
        # a story that starts months back
        "in march my forearm started twitching, then my speech has been a bit slurry, and "
        "i keep dropping cups, what should i do",
        # a faint months back, then "now it aches" opening a clause of its own
        "back in june i fainted and hit my elbow, now it aches when i lean on it, why",
        # a loss that came with a known illness of the brain
        "my grandad has dementia and can't speak anymore, and his hands twitch a lot",
        # the doctors have seen it: it is not happening within hours
        "the doctors said it was nothing but i still have weakness in my arm and twitching",
    ],
)
def test_told_as_a_pattern_or_a_past_is_not_an_emergency(text: str) -> None:
    verdict = check(text)
    assert verdict.level != EMERGENCY, verdict


@pytest.mark.parametrize(
    "text",
    [
        # ...but a nearer "just now" or "suddenly" still wins
        "he has parkinson's and just now his face drooped and his speech went slurred",
        "in march my arm started twitching and suddenly tonight my face has dropped on one side",
        "she has ms and she's having a seizure right now",
        "grandma has alzheimer's and just now she collapsed and won't wake up",
        "he fainted a minute ago and now he is not breathing",
        # a past event in the spring is no time frame for what happens tonight
        "mum had the flu in the spring and got over it, but tonight she's confused and "
        "seeing things that aren't there",
    ],
)
def test_a_nearer_now_still_makes_an_emergency(text: str) -> None:
    assert check(text).level == EMERGENCY


def test_now_and_then_is_not_spreading() -> None:
    assert check("it was only a small twitch now and then").level is None
    assert check("it was just my eyelid now and again").level is None


# -- robustness ----------------------------------------------------------------------------
def test_empty_and_garbage_input() -> None:
    assert check("").verdict == safety.NO_CONCERN
    assert check("   ?! ").verdict == safety.NO_CONCERN
    rng = random.Random(3)
    for _ in range(200):
        text = "".join(chr(rng.randint(0, 0x3000)) for _ in range(rng.randint(0, 80)))
        assert check(text).level in (None, RED_FLAG, EMERGENCY)


def test_100000_character_input_is_fast() -> None:
    text = "my muscles twitch and i wonder why " * 2900
    started = time.perf_counter()
    check(text)
    assert time.perf_counter() - started < 0.1


def test_check_is_pure() -> None:
    text = "my hand twitches and feels weak, is it caffeine"
    assert check(text).verdict == check(text).verdict
