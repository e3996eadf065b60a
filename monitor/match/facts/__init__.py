"""The story's facts: which article first carried a sentence's fact, and which carried it later.

Pure: members' texts in, facts out. Modules:

- ``sentences``  a text as sentences, English and French (abbreviations, initials, numbers);
- ``substance``  which sentences are facts (a number, a name, a quote, a date) and not furniture;
- ``pairs``      whether two sentences state the same fact (paraphrases included), scored on MSRP;
- ``group``      the story's sentences grouped into facts, with blocking, and each fact's carriers.
"""

from monitor.match.facts.group import MIN_CARRIERS, Reading, Stats, rank_time, story_facts
from monitor.match.facts.pairs import Sentence, read, same_fact, score
from monitor.match.facts.sentences import split

__all__ = [
    "MIN_CARRIERS",
    "Reading",
    "Sentence",
    "Stats",
    "rank_time",
    "read",
    "same_fact",
    "score",
    "split",
    "story_facts",
]
