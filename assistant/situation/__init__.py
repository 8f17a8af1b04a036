"""Reading a situation out of what a person said: danger signs and their context.

``phrases`` compiles the small pattern language of the data files, ``lexicon`` loads and
validates the sign lexicon and the context triggers, ``reader`` finds every sign in an
utterance of any length and decides, in the manner of the ConText algorithm (Harkema et al.
2009), whether it is affirmed, negated, in the past, hypothetical, figurative or an animal's.
Pure code: no audio, no Vosk, no I/O beyond loading the YAML.
"""

from assistant.situation.lexicon import Lexicon, load_lexicon
from assistant.situation.reader import Finding, Situation, Status, read

__all__ = ["Finding", "Lexicon", "Situation", "Status", "load_lexicon", "read"]
