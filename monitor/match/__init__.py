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
             barely overlap), so a second stage scores TF-IDF cosine (``match_story``) against
             the seeds, and against accepted articles that anchor the story, with time
             proximity and story keywords as extra evidence.

Signatures and LSH bands live in ``signature``, the story stage's terms and scores in ``story``,
the index that decides in ``index``.
"""

from monitor.match.index import (
    Decision,
    Fingerprint,
    Known,
    MatchSettings,
    StoryIndex,
    fingerprint,
    story_bar,
    version_key,
    would_flip,
)
from monitor.match.signature import (
    band_keys,
    lsh_bands,
    lsh_params,
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
