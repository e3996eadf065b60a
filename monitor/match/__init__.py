"""Matching: is a new article a copy of something known, new reporting on the story, or neither?

Pure: texts and fingerprints in, a Decision out. The index is rebuilt from the database by the
pipeline (the edge), which also stores each decision with its reason.

Three stages, in order:

1. exact     the normalised text hashes equal a known version's;
2. copy      MinHash LSH (datasketch) proposes known versions whose Jaccard may reach
             ``candidate_threshold``; each candidate is then scored exactly on shingle sets by
             Jaccard and by containment both ways, so a truncated copy (new inside known) and an
             extended copy (known inside new) count as copies when a score reaches
             ``copy_threshold``. A copy points at the original of its copy group: the
             earliest-published member;
3. story     other outlets' own reporting shares facts, not sentences (their 5-word shingles
             barely overlap), so a second stage scores TF-IDF cosine (``story``) against
             the seeds, and against accepted articles that anchor the story, with time
             proximity and story keywords as extra evidence.

Modules:

- ``decision``     settings, a known article, a decision; the story bar and ``would_flip``;
- ``signature``    a text's fingerprint: shingle hashes, MinHash signature, LSH band keys;
- ``geometry``     the LSH (bands, rows) for a threshold, as datasketch picks it;
- ``groups``       the members and their copy groups: chain heads, originals, repointing;
- ``copies``       the copy stage: versions by key and hash, candidates scored on shingles;
- ``story``        the story stage's terms and scores (TF-IDF, time, language);
- ``terms``        document frequencies and the members' weighted vectors;
- ``story_stage``  anchors and an article's best one, with the story keywords it contains;
- ``reasons``      each stage's finding as a Decision with its reason text;
- ``index``        ``StoryIndex``, which composes them and decides;
- ``label``        an analyst's label applied to a decision (the label decides);
- ``fit``          the story threshold fitted from the analyst's labels.
"""

from monitor.match.copies import version_key
from monitor.match.decision import Decision, Known, MatchSettings, story_bar, would_flip
from monitor.match.geometry import lsh_params
from monitor.match.index import StoryIndex
from monitor.match.signature import (
    Fingerprint,
    band_keys,
    fingerprint,
    lsh_bands,
    minhash_from_bytes,
    minhash_of,
    shingle_hashes,
    shingle_hashes_of_bytes,
    signature_values,
)
from monitor.match.story import story_terms

__all__ = [
    "Decision",
    "Fingerprint",
    "Known",
    "MatchSettings",
    "StoryIndex",
    "band_keys",
    "fingerprint",
    "lsh_bands",
    "lsh_params",
    "minhash_from_bytes",
    "minhash_of",
    "shingle_hashes",
    "shingle_hashes_of_bytes",
    "signature_values",
    "story_bar",
    "story_terms",
    "version_key",
    "would_flip",
]
