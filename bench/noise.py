"""A recogniser-noise simulator: what a small speech recogniser does to a sentence.

Given a sentence and a word error rate (WER), apply word errors of the kinds speech
recognisers make, until the word-level edit distance to the original is about
``wer * number of words``:

* substitution: a word becomes a phonetically close word ("cramps" -> "crimps"), taken
  from a confusion table built with a small metaphone-like key over a vocabulary (the
  words of our intents, when given, plus common English words), and a few known
  confusions ("magnesium" -> "magnesia");
* deletion: a word is dropped;
* insertion: a filler ("um") or a common short word ("the") appears;
* split: a long word becomes two shorter sound-alike pieces ("fasciculation" ->
  "fast circulation", "caffeine" -> "coffee in");
* merge: two neighbouring words are glued ("eye lid" -> "eyelid").

A substitution, deletion or insertion costs one word error; a split or a merge costs two
(a substitution plus an insertion or deletion), as word-level edit distance counts them.
The number of errors for a sentence is ``wer * words``, rounded up or down at random so
that the expected rate is exact. Operations never touch the same word twice, and an
insertion never sits next to a deleted word, so the measured edit distance equals the
planned number of errors in almost every case.

Deterministic: the same sentence, rate and seed always give the same output (the random
generator is seeded from all three, with a stable string seed, not Python's hash).

    from bench.noise import Noise
    noise = Noise(vocabulary=["twitch", "caffeine", ...])
    noise.corrupt("does caffeine cause twitching", wer=0.2, seed=1)

Pure Python, no dependencies.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

_COMMON_TEXT = """
a about above across act add after again against age ago air all almost alone along
already also always am among an and animal another answer any anything appear are area
arm around as ask at away baby back bad bag ball bank base be bear beat because bed been
before began begin behind being bell below best better between big bird bit black blood
blow blue board boat body bone book born both bottom bought box boy bread break bring
brother brought brown build built burn busy but buy by call came can car card care carry
case cat catch caught cause cell center chair chance change check child choose city class
clean clear close cloud coat cold color come common cook cool copy corn cost could count
country course cover cow cross cry cup cut dark day dead deal dear deep did die differ
dinner do doctor does dog dollar done door down draw dream dress drink drive drop dry
during each ear early earth east eat egg eight either else end enough even evening ever
every eye face fact fair fall family far farm fast fat father fear feed feel feet fell
felt few field fight fill find fine finger finish fire first fish fit five floor flow
flower fly follow food foot for force form four free fresh friend from front fruit full
fun game gave get girl give glad glass go gold gone good got grass great green grew
ground group grow had hair half hall hand happen happy hard has hat have he head hear
heard heart heat heavy held help her here high hill him his hit hold hole home hope horse
hot hour house how hundred hurt i ice idea if in inch inside into iron is island it its
job join jump just keep kept key kid kill kind king knew know lady lake land large last
late laugh law lay lead learn least leave led left leg less let letter lie life lift
light like line lip list listen little live long look lose lost lot loud love low made
make man many map mark may me mean meat meet men met might mile milk mind mine minute
miss mister moment money month moon more morning most mother mountain mouth move much
music must my name near neck need never new news next nice night nine no none noon nor
north nose not note nothing now number of off offer office often oh oil old on once one
only open or order other our out over own page paid pain paint pair paper part party pass
past pay people person pick piece place plain plan plant play please point pool poor
post pound power press pretty pull push put rain ran reach read ready real red rest rich
ride right ring river road rock roll room rose round row rule run said sail salt same sat
save saw say school sea seat second see seem seen sell send sense sent set seven shall
she ship shoe shop short should show side sign simple since sing sister sit six size skin
sleep slow small smell smile snow so soft some son song soon sound south speak spell
spend spring stand star start stay step still stone stood stop store story street strong
such sugar summer sun sure sweet swim table tail take talk tall tea teach tell ten than
thank that the their them then there these they thin thing think third this those though
three through throw tie till time tiny tire to today toe together told too took top touch
town track train tree trip true try turn twelve twenty two under until up upon us use
very visit voice wait walk wall want war warm was wash watch water wave way we wear
weather week weight well went were west what wheel when where which while white who whole
why wide wife will win wind window wish with woman won wonder wood word work world would
write wrong yard year yes yet you young your
"""
COMMON_WORDS = tuple(_COMMON_TEXT.split())
"""Frequent English words: the other half of the confusion vocabulary."""

FILLERS = ("um", "uh", "er", "like", "so", "oh", "well", "yeah", "hmm")
INSERTED_WORDS = ("the", "a", "and", "i", "it", "is", "that", "you", "to", "of", "in", "then")

KNOWN_CONFUSIONS: dict[str, tuple[str, ...]] = {
    "magnesium": ("magnesia", "magnesian", "magnet see um"),
    "caffeine": ("coffee in", "cafe in", "caff in"),
    "fasciculation": ("fast circulation", "fascination", "fast ickle ation"),
    "fasciculations": ("fast circulations", "fascinations"),
    "eyelid": ("i lid", "eye lead", "i led"),
    "eyelids": ("i lids", "eye leads"),
    "twitching": ("twitch in", "switching", "witching"),
    "twitch": ("switch", "which"),
    "twitches": ("switches", "witches"),
    "cramps": ("crimps", "cramp is"),
    "calcium": ("calc ium", "cal see um"),
    "dehydration": ("the hydration", "de hydration"),
    "anxiety": ("and society", "anxious tea"),
    "muscle": ("mussel", "muzzle"),
    "muscles": ("mussels", "muzzles"),
    "calf": ("cough", "half"),
    "als": ("a l s", "else"),
    "vitamin": ("vita men", "fight amin"),
}
"""Confusions seen from small recognisers; used for about half of the substitutions or
splits of these words, the phonetic table for the rest. Several of these are also in our
intents/sounds_like.yaml, which gives our matcher a head start on them: see the report."""

SUBSTITUTE, DELETE, INSERT, SPLIT, MERGE = "substitute", "delete", "insert", "split", "merge"
DEFAULT_WEIGHTS: dict[str, float] = {
    SUBSTITUTE: 0.50,
    DELETE: 0.15,
    INSERT: 0.15,
    SPLIT: 0.12,
    MERGE: 0.08,
}
COST = {SUBSTITUTE: 1, DELETE: 1, INSERT: 1, SPLIT: 2, MERGE: 2}
MIN_SPLIT_LENGTH = 6

_LETTERS = re.compile(r"[^a-z]")


# -- phonetic key ---------------------------------------------------------------------------
_REWRITES: tuple[tuple[str, str], ...] = (
    (r"^kn", "n"),
    (r"^gn", "n"),
    (r"^pn", "n"),
    (r"^wr", "r"),
    (r"mb$", "m"),
    (r"(ou|au)gh$", "f"),
    (r"gh", ""),
    (r"ph", "f"),
    (r"sch", "sk"),
    (r"tch", "x"),
    (r"ch", "x"),
    (r"sh", "x"),
    (r"ti(?=[aou])", "x"),
    (r"si(?=[aou])", "x"),
    (r"th", "0"),
    (r"wh", "w"),
    (r"ck", "k"),
    (r"qu", "kw"),
    (r"q", "k"),
    (r"dg(?=[eiy])", "j"),
    (r"g(?=[eiy])", "j"),
    (r"c(?=[eiy])", "s"),
    (r"c", "k"),
    (r"z", "s"),
    (r"v", "f"),
    (r"d$", "t"),
)
_COMPILED_REWRITES = [(re.compile(p), r) for p, r in _REWRITES]


def phonetic_key(word: str) -> str:
    """A small metaphone-like key: words that sound alike share it ("caff" ~ "cough").

    Consonant digraphs are folded (ph -> f, ch/sh -> x, th -> 0), soft c and g are told
    apart, vowels are dropped except a leading one (kept as "a"), h, w and y are dropped
    unless they start the word, and repeated sounds collapse.
    """
    w = _LETTERS.sub("", word.lower())
    if not w:
        return ""
    # A written x is "ks" ("s" at the start); done first, as "ch" and "sh" become x below.
    w = ("s" + w[1:] if w.startswith("x") else w).replace("x", "ks")
    for pattern, replacement in _COMPILED_REWRITES:
        w = pattern.sub(replacement, w)
    first = w[0]
    out = ["a"] if first in "aeiouy" else []
    for i, ch in enumerate(w):
        if ch in "aeiouy":
            continue
        if ch in "hw" and i > 0:
            continue
        out.append(ch)
    key = []
    for ch in out:
        if not key or key[-1] != ch:
            key.append(ch)
    return "".join(key)


def _edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance between two sequences (of letters or of words)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def word_errors(reference: str | Sequence[str], hypothesis: str | Sequence[str]) -> int:
    """Word-level edit distance (substitutions + deletions + insertions)."""
    ref = reference.split() if isinstance(reference, str) else list(reference)
    hyp = hypothesis.split() if isinstance(hypothesis, str) else list(hypothesis)
    return _edit_distance(ref, hyp)


def corpus_wer(pairs: Iterable[tuple[str, str]]) -> float:
    """Word error rate over many (reference, hypothesis) pairs: errors / reference words."""
    errors = words = 0
    for reference, hypothesis in pairs:
        errors += word_errors(reference, hypothesis)
        words += len(reference.split())
    return errors / words if words else 0.0


def _same_family(a: str, b: str) -> bool:
    """ "twitch" and "twitches" are one word to a listener: not a useful confusion."""
    short, long_ = sorted((a, b), key=len)
    return long_.startswith(short) and len(long_) - len(short) <= 3


# -- the simulator ---------------------------------------------------------------------------
class Noise:
    """Builds the confusion table once; ``corrupt`` is then a pure function of its inputs."""

    def __init__(
        self,
        vocabulary: Iterable[str] = (),
        *,
        weights: dict[str, float] | None = None,
        known: dict[str, tuple[str, ...]] | None = None,
        known_share: float = 0.5,
    ) -> None:
        words = {w.lower() for w in vocabulary if w and w.isalpha()}
        words.update(COMMON_WORDS)
        self.vocabulary = sorted(words)
        self.weights = dict(weights or DEFAULT_WEIGHTS)
        self.known = dict(KNOWN_CONFUSIONS if known is None else known)
        self.known_share = known_share
        self.by_key: dict[str, list[str]] = defaultdict(list)
        for word in self.vocabulary:
            self.by_key[phonetic_key(word)].append(word)
        self._keys_by_length: dict[int, list[str]] = defaultdict(list)
        for key in self.by_key:
            self._keys_by_length[len(key)].append(key)
        self._neighbours: dict[str, tuple[str, ...]] = {}

    # -- confusion table -------------------------------------------------------------------
    def neighbours(self, word: str) -> tuple[str, ...]:
        """Words that sound like ``word``: same key first, else keys one edit away."""
        if word in self._neighbours:
            return self._neighbours[word]
        key = phonetic_key(word)
        found = [w for w in self.by_key.get(key, ()) if w != word and not _same_family(w, word)]
        if not found and len(key) >= 2:
            # One sound more, less or different, and spelled alike ("tired" ~ "tried").
            max_letters = max(2, len(word) // 3 + 1)
            for length in (len(key) - 1, len(key), len(key) + 1):
                for other in self._keys_by_length.get(length, ()):
                    if other[:1] != key[:1] or _edit_distance(key, other) != 1:
                        continue
                    found.extend(
                        w
                        for w in self.by_key[other]
                        if w != word
                        and not _same_family(w, word)
                        and _edit_distance(w, word) <= max_letters
                    )
        result = tuple(sorted(set(found)))
        self._neighbours[word] = result
        return result

    def sound_alike(self, word: str, rng: random.Random) -> str:
        """A phonetically close word, or a sound-preserving respelling when none is known."""
        candidates = self.neighbours(word)
        if candidates:
            return rng.choice(candidates)
        return _respell(word, rng)

    def split_word(self, word: str, rng: random.Random) -> str:
        """A long word heard as two shorter pieces, each a real word when one sounds alike."""
        known = [k for k in self.known.get(word, ()) if " " in k]
        if known and rng.random() < self.known_share:
            return rng.choice(known)
        cut = _syllable_cut(word, rng)
        pieces = []
        for piece in (word[:cut], word[cut:]):
            same = [w for w in self.by_key.get(phonetic_key(piece), ()) if w != word]
            pieces.append(min(same, key=lambda w: (abs(len(w) - len(piece)), w)) if same else piece)
        return " ".join(pieces)

    def substitute(self, word: str, rng: random.Random) -> str:
        known = [k for k in self.known.get(word, ()) if " " not in k]
        if known and rng.random() < self.known_share:
            return rng.choice(known)
        return self.sound_alike(word, rng)

    # -- corrupt ---------------------------------------------------------------------------
    def corrupt(self, sentence: str, wer: float, seed: int = 0) -> str:
        """``sentence`` with about ``wer`` word errors per word (deterministic per seed)."""
        words = sentence.lower().split()
        if not words or wer <= 0:
            return " ".join(words)
        rng = random.Random(f"{seed}|{wer:.4f}|{' '.join(words)}")
        wanted = wer * len(words)
        budget = int(wanted) + (rng.random() < wanted - int(wanted))
        return " ".join(self._apply(words, budget, rng))

    def _apply(self, words: list[str], budget: int, rng: random.Random) -> list[str]:
        n = len(words)
        replace: dict[int, list[str]] = {}  # original index -> what is heard instead
        inserts: dict[int, list[str]] = defaultdict(list)  # gap index (0..n) -> words
        free = set(range(n))
        deleted: set[int] = set()
        while budget > 0:
            options = [o for o in self._options(words, free, budget) if self.weights.get(o)]
            if options:
                op = rng.choices(options, weights=[self.weights[o] for o in options])[0]
            else:  # only two-error kinds are wanted and one error is left: a cheaper kind
                op = SUBSTITUTE if free else INSERT
            if op == INSERT:
                gaps = [g for g in range(n + 1) if g not in deleted and g - 1 not in deleted]
                pool = FILLERS if rng.random() < 0.5 else INSERTED_WORDS
                inserts[rng.choice(gaps)].append(rng.choice(pool))
                budget -= 1
                continue
            if op == MERGE:
                i = rng.choice([i for i in sorted(free) if i + 1 in free])
                replace[i], replace[i + 1] = [words[i] + words[i + 1]], []
                free.difference_update((i, i + 1))
                deleted.add(i + 1)
                budget -= 2
                continue
            if op == DELETE:
                i = rng.choice(sorted(free))
                replace[i] = []
                deleted.add(i)
            elif op == SUBSTITUTE:
                i = rng.choice(sorted(free))
                new = self.substitute(words[i], rng).split()
                if not new or len(new) > budget or words[i] in new:
                    new = [_respell(words[i], rng)]
                replace[i] = new
            else:  # SPLIT
                i = rng.choice(sorted(i for i in free if len(words[i]) >= MIN_SPLIT_LENGTH))
                new = self.split_word(words[i], rng).split()
                if not 2 <= len(new) <= budget or words[i] in new:
                    cut = len(words[i]) // 2
                    new = [words[i][:cut], words[i][cut:]]
                replace[i] = new
            free.discard(i)
            budget -= max(1, len(replace[i]))
        out: list[str] = []
        for i in range(n + 1):
            out.extend(inserts.get(i, ()))
            if i < n:
                out.extend(replace.get(i, [words[i]]))
        return out

    @staticmethod
    def _options(words: list[str], free: set[int], budget: int) -> list[str]:
        options = [INSERT]
        if free:
            options += [SUBSTITUTE, DELETE]
        if budget >= 2:
            if any(len(words[i]) >= MIN_SPLIT_LENGTH for i in free):
                options.append(SPLIT)
            if any(i + 1 in free for i in free):
                options.append(MERGE)
        return options


_VOWEL_SWAPS = {"a": "e", "e": "i", "i": "e", "o": "u", "u": "o", "y": "i"}
_CONSONANT_SWAPS = {"c": "k", "k": "c", "s": "z", "z": "s", "f": "ph", "v": "f", "t": "d", "d": "t"}


def _respell(word: str, rng: random.Random) -> str:
    """A sound-preserving misspelling, for words with no sound-alike in the vocabulary."""
    positions = [i for i, ch in enumerate(word) if ch in _VOWEL_SWAPS or ch in _CONSONANT_SWAPS]
    if not positions:
        return word + "s" if not word.endswith("s") else word[:-1]
    i = rng.choice(positions)
    ch = word[i]
    swap = _VOWEL_SWAPS.get(ch) or _CONSONANT_SWAPS[ch]
    return word[:i] + swap + word[i + 1 :]


def _syllable_cut(word: str, rng: random.Random) -> int:
    """Where to cut a word in two: a vowel-to-consonant boundary near the middle."""
    vowels = "aeiouy"
    cuts = [i for i in range(2, len(word) - 1) if word[i - 1] in vowels and word[i] not in vowels]
    if not cuts:
        return len(word) // 2
    middle = len(word) / 2
    cuts.sort(key=lambda i: abs(i - middle))
    return rng.choice(cuts[:2])


_DEFAULT: Noise | None = None


def corrupt(sentence: str, wer: float, seed: int = 0) -> str:
    """``Noise().corrupt`` with the common-words vocabulary only."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Noise()
    return _DEFAULT.corrupt(sentence, wer, seed)
