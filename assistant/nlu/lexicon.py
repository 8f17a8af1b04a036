"""Everyday English words that say little about what is being asked.

A word the intents never use is usually a sign the question is about something else
("diabetes", "weather"), so unknown words weigh heavily against a match. These words are
the exception: adverbs, vague adjectives and generic verbs people wrap questions in
("lately", "little", "totally", "notice"). They weigh little, known or not.
Stored stemmed, as the matcher compares stems.
"""

from __future__ import annotations

from assistant.nlu.text import stem

_WORDS = """
about above across actually after again ago all almost alone along already also although
always am among an and another any anybody anyone anything anyway anywhere are around as
ask asked asking at away back bad badly basically be became because become been before
began begin being believe below besides best better between big bit both bottom bring but
by came can certain certainly change close come comes coming completely consider constant
could day days definitely did different do does doing done down during each early easy
either else enough entire entirely especially even ever every everybody everyone everything
exactly far few fine first for found from full fully get gets getting give given go goes
going gone good got great guess had happen happened happening happens hard has have having
he hear heard help her here hers herself him himself his honestly hope how however i if
in inside instead into is it its itself just keep keeps kept kind know known last lately
later least left less let lets like likely little long look looked looking lot lots low
lower made main make makes making many matter may maybe me mean means meant might mine
minute minutes moment more most mostly much must my myself near nearly need needed needs
never new next nice no nobody none normally not nothing notice noticed noticing now odd
of off often oh okay old on once one only onto or other others otherwise ought our ours
out over own part particular particularly past people perhaps person place point pretty
probably put quick quickly quite rather real really reason recent recently right same saw
say saying says second see seeing seem seemed seems seen several she should show side
similar simply since slightly small so some somebody someone something sometime sometimes
somewhat somewhere soon sort start started starting starts still stuff such suddenly
suppose sure take taken taking tell than thank that the their them themselves then there
these they thing things think this those though thought through time tiny to today
together told too took top totally toward try trying turn turned twice under unless
until up upon upper us use used usual usually very want wanted wants was way we weird
well went were what whatever when whenever where whether which while who whole whom whose
why will with within without wonder wondering word work working would yeah year
years yes yet you your yours yourself lately often constantly occasionally randomly
strange strangely bunch couple week weeks month months hour hours
two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred
first under drop
"""

FILLER_STEMS = frozenset(stem(w) for w in _WORDS.split())

_ANIMALS = """
animal animals pet pets dog dogs puppy puppies pup cat cats kitten kittens horse horses pony
rabbit rabbits bunny hamster hamsters guinea pig pigs bird birds parrot budgie fish ferret
ferrets rat rats mouse mice gerbil cow cows sheep goat goats lizard snake tortoise turtle
chicken chickens hen
"""

ANIMAL_STEMS = frozenset(stem(w) for w in _ANIMALS.split())
"""Twitching in an animal is a question for a vet, not for us: these words cancel the
benefit of the doubt a twitch word gives ("why does my dog twitch when he's asleep")."""
