"""The story's facts, pure: sentences (English and French), substance, the same-fact decision on
hand-made pairs, and grouping a small story's sentences into facts with their carriers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.match.facts import Stats, pairs, rank_time, same_fact, split, story_facts
from monitor.match.facts.substance import substance, without_dateline
from storage.facts import MemberText

# --- sentences ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "U.S. President Joe Biden arrived. He met Mr. Trudeau.",
            ["U.S. President Joe Biden arrived.", "He met Mr. Trudeau."],
        ),
        (
            "Talks went on in the U.S. The deal was signed by Dr. Tam at 12:01 a.m. Saturday.",
            ["Talks went on in the U.S.", "The deal was signed by Dr. Tam at 12:01 a.m. Saturday."],
        ),
        (
            "Inflation rose 3.5 per cent. Sales at No. 2 Ford Motor Co. fell. Joe R. Biden spoke.",
            [
                "Inflation rose 3.5 per cent.",
                "Sales at No. 2 Ford Motor Co. fell.",
                "Joe R. Biden spoke.",
            ],
        ),
        (
            "The lane links Champlain, N.Y., with Quebec. It closed at 1 p.m. The road is quiet.",
            [
                "The lane links Champlain, N.Y., with Quebec.",
                "It closed at 1 p.m.",
                "The road is quiet.",
            ],
        ),
        (
            '"We knew," she said. "It took a second to sink in." Then she left!',
            ['"We knew," she said.', '"It took a second to sink in."', "Then she left!"],
        ),
        (
            "First paragraph without a stop\n\nSecond one.",
            ["First paragraph without a stop", "Second one."],
        ),
    ],
)
def test_english_sentences_split_at_their_ends_only(text, expected):
    """Titles, initials, decimals, times and "U.S." before a name do not end a sentence; "U.S."
    or "p.m." before a usual sentence start does; a closing quote stays with its sentence; a
    paragraph break always ends one."""
    assert split(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "M. Legault réclamait la fermeture. Mme Tremblay a parlé à 0 h 01, samedi.",
            ["M. Legault réclamait la fermeture.", "Mme Tremblay a parlé à 0 h 01, samedi."],
        ),
        (
            "« Je me demande où ces gens-là vont aller maintenant. » Elle est partie.",
            ["« Je me demande où ces gens-là vont aller maintenant. »", "Elle est partie."],
        ),
        (
            "Le taux est passé à 3,5 %. Qu'en pensez-vous ? Rien du tout !",
            ["Le taux est passé à 3,5 %.", "Qu'en pensez-vous ?", "Rien du tout !"],
        ),
        (
            "Près de 39 000 personnes ont traversé. Etc. Les É.-U. ont accepté.",
            ["Près de 39 000 personnes ont traversé.", "Etc.", "Les É.-U. ont accepté."],
        ),
    ],
)
def test_french_sentences_split_at_their_ends_only(text, expected):
    """French titles (M., Mme), spaced punctuation (« », ?, !), decimal commas and space-grouped
    thousands split as a French reader would."""
    assert split(text) == expected


def test_blank_text_has_no_sentence():
    """An empty or blank text gives no sentence."""
    assert split("") == [] and split("  \n\n ") == []


# --- substance -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "kinds"),
    [
        ("Roughly 39,000 people crossed at Roxham Road in 2022.", ("number", "name")),
        ('"We want to keep ticket prices low," said Walt Ferriday.', ("name", "quote")),
        ("The new rules take effect on Saturday at the border.", ("date",)),
        ("Les règles entrent en vigueur samedi à la frontière.", ("date",)),
        ("He said it was not going to be easy for anyone here.", ()),
        ("Read more: Canada closes Roxham Road on Saturday, 2023", ()),
        ("Sign up for our newsletter to get the news from Ottawa.", ()),
        ("Abonnez-vous à notre infolettre pour suivre Ottawa.", ()),
        ("Trudeau spoke on Friday.", ()),  # under six words
    ],
)
def test_a_fact_has_substance_and_is_not_furniture(sentence, kinds):
    """A sentence counts with a number, a name, a quote or a date, at least six words, and none
    of an outlet's furniture (read more, newsletters) in English or French."""
    assert substance(sentence) == kinds


def test_a_dateline_is_not_part_of_the_fact():
    """A lead's dateline, with or without the agency, is left out; other sentences are kept."""
    assert without_dateline("OTTAWA (Capital Wire) — Canada and the U.S. agreed.") == (
        "Canada and the U.S. agreed."
    )
    assert without_dateline("NEW YORK, N.Y. — Migrants took buses.") == "Migrants took buses."
    assert without_dateline("Canada — and the U.S. — agreed.") == "Canada — and the U.S. — agreed."


# --- the same fact -------------------------------------------------------------------------------

PARAPHRASES = [
    (
        "Canada will close Roxham Road on Saturday.",
        "Roxham Road is to be closed by Canada this Saturday.",
    ),
    (
        "Roughly 39,000 people made refugee claims after crossing there in 2022, figures show.",
        "Figures show roughly 39 000 people made refugee claims after crossing there in 2022.",
    ),
    (
        "Quebec Premier François Legault has repeatedly called on Ottawa to shut the crossing.",
        "Quebec Premier Francois Legault has repeatedly urged Ottawa to shut the crossing.",
    ),
    (
        "Canada is expected to open its doors to 15,000 migrants from the Western Hemisphere "
        "over the coming year.",
        "Over the coming year, Canada is expected to take in 15,000 migrants from the Western "
        "Hemisphere.",
    ),
]
NOT_PAIRS = [
    (
        "Canada will close Roxham Road on Saturday.",
        "Refugee advocates warned that closing Roxham Road would push people to remote crossings.",
    ),
    (
        "Quebec Premier François Legault welcomed the announcement on Friday.",
        "Conservative Leader Pierre Poilievre had also demanded that the crossing be closed.",
    ),
    (
        "Roughly 39,000 people made refugee claims after crossing at Roxham Road in 2022.",
        "Canada will take in 15,000 migrants through regular humanitarian programs next year.",
    ),
]


@pytest.mark.parametrize(("a", "b"), PARAPHRASES)
def test_a_light_rewording_is_the_same_fact(a, b):
    """A wire sentence reordered, reworded or with its figure written another way is the same
    fact, both ways round."""
    x, y = pairs.read(a), pairs.read(b)
    assert same_fact(x, y) and same_fact(y, x)


@pytest.mark.parametrize(("a", "b"), NOT_PAIRS)
def test_sentences_sharing_the_story_are_not_the_same_fact(a, b):
    """Two sentences of one story sharing its names are different facts."""
    assert not same_fact(pairs.read(a), pairs.read(b))


def test_numbers_are_written_one_way():
    """Grouped thousands (comma or space) and decimals (point or comma) read as one number."""
    assert pairs.read("39,000 and 39 000 and 39000").numbers == {"#39000"}
    assert pairs.read("3.5 ou 3,5").numbers == {"#3.5"}
    assert pairs.number("1,250,000") == "#1250000" and pairs.number("1,25") == "#1.25"


def test_too_few_shared_terms_score_zero():
    """Below MIN_TERM_JACCARD of shared content terms, the score is 0 whatever the wording."""
    a = pairs.read("The minister said the plan would be announced by the government soon.")
    b = pairs.read("The mayor said the budget would be voted by the council later.")
    assert pairs.term_jaccard(a, b) < pairs.MIN_TERM_JACCARD
    assert pairs.score(a, b) == 0.0


# --- grouping ------------------------------------------------------------------------------------

T0 = datetime(2023, 3, 23, 15, 10, tzinfo=UTC)
WIRE = (
    "OTTAWA — Canada and the United States have reached an agreement on Roxham Road, "
    "according to sources.\n\n"
    "Roughly 39,000 people made refugee claims after crossing there in 2022.\n\n"
    "Sign up for our newsletter to follow the Roxham Road story every day."
)


# A member as the storage layer hands it to story_facts.
Member = MemberText


def _member(outlet: str, text: str, at: datetime, **kw) -> Member:
    return Member(outlet, f"https://{outlet.lower()}.example/{at:%H%M}", at, "time", at, text, **kw)


def _story() -> list[Member]:
    reprint = WIRE.replace("OTTAWA —", "OTTAWA (Capital Wire) —")
    reworded = (
        "Federal figures show that roughly 39,000 people made refugee claims after crossing "
        "there in 2022.\n\nThe Ledger's own sentence about Ottawa has no later carrier at all."
    )
    return [
        _member("Digest", reprint, T0 + timedelta(hours=17)),  # given out of order
        _member("Wire", WIRE, T0),
        _member("Ledger", reworded, T0 + timedelta(hours=2)),
    ]


def test_each_fact_has_its_first_carrier_and_later_ones_with_their_lag():
    """The earliest article carries a fact first; reprints and rewordings come later with their
    lag in seconds; a reworded carrier shows its own sentence; furniture and one-article
    sentences are no fact."""
    facts = story_facts(_story())
    assert [f["text"] for f in facts] == [
        "Canada and the United States have reached an agreement on Roxham Road, according to "
        "sources.",
        "Roughly 39,000 people made refugee claims after crossing there in 2022.",
    ]
    deal, figure = facts
    assert deal["first"]["outlet"] == "Wire" and deal["first"]["at"] == T0.isoformat()
    assert [(c["outlet"], c["lag_seconds"]) for c in deal["later"]] == [("Digest", 17 * 3600)]
    assert "sentence" not in deal["later"][0], "a reprint's wording is the first's"
    assert figure["substance"] == ["number"]
    assert [c["outlet"] for c in figure["later"]] == ["Ledger", "Digest"]
    ledger = figure["later"][0]
    assert ledger["sentence"].startswith("Federal figures show")
    assert 0 < ledger["similarity"] < 1 and ledger["figures_differ"] is False
    assert (figure["articles"], figure["outlets"]) == (3, 3)


def test_a_day_only_date_cannot_claim_a_scoop_over_a_known_time_that_day():
    """A carrier known only by its day ranks at the end of it (or when first seen): the wire's
    15:10 report stays first over a same-day, day-only reprint."""
    wire = _member("Wire", WIRE, T0)
    day = T0.replace(hour=0, minute=0)
    brief = Member("Brief", "seed:brief", day, "day", T0 + timedelta(hours=3), WIRE)
    assert rank_time(brief) == T0 + timedelta(hours=3)
    assert rank_time(replace(brief, first_seen_at=day + timedelta(days=5))) == day + timedelta(1)
    facts = story_facts([brief, wire])
    assert all(f["first"]["outlet"] == "Wire" for f in facts)
    later = facts[0]["later"][0]
    assert (later["time_basis"], later["at"], later["lag_seconds"]) == (
        "published_day",
        day.isoformat(),
        3 * 3600,
    )


def test_an_undated_carrier_is_timed_when_first_seen():
    """Without a publication time, the first-seen time stands in, and says so."""
    seen = T0 + timedelta(hours=1)
    facts = story_facts([_member("Wire", WIRE, T0), Member("Blog", "b", None, None, seen, WIRE)])
    assert facts[0]["later"][0]["time_basis"] == "first_seen"
    assert facts[0]["later"][0]["lag_seconds"] == 3600


def test_a_sentence_twice_in_one_article_is_carried_once():
    """An article repeating a sentence counts once, and a fact needs two articles."""
    twice = WIRE + "\n\nRoughly 39,000 people made refugee claims after crossing there in 2022."
    assert story_facts([_member("Wire", twice, T0)]) == []
    facts = story_facts([_member("Wire", twice, T0)], min_carriers=1)
    assert all(f["articles"] == 1 and f["later"] == [] for f in facts)


def test_blocking_finds_what_comparing_every_pair_finds_on_a_small_story():
    """Blocking on rare term pairs gives the facts comparing every pair of wordings gives, here,
    with fewer pairs scored; the same text is read once."""
    story = _story() * 1 + [_member("Copy", WIRE, T0 + timedelta(hours=30))]
    blocked, every = Stats(), Stats()
    assert story_facts(story, stats=blocked) == story_facts(story, stats=every, blocking=False)
    assert blocked.compared < every.compared
    assert blocked.sentences == 8 and blocked.wordings == 4


def test_a_fact_never_chains_into_another():
    """A wording joins one fact, matched against earlier wordings: a sentence sharing a name
    with two facts does not merge them."""
    a = "Quebec Premier François Legault welcomed the deal announced in Ottawa on Friday."
    b = "Conservative Leader Pierre Poilievre had demanded for weeks that Roxham Road be closed."
    members = [
        _member("One", f"{a}\n\n{b}", T0),
        _member("Two", f"{a}\n\n{b}", T0 + timedelta(hours=1)),
    ]
    assert len(story_facts(members)) == 2


def test_a_long_fact_indexes_few_wordings_and_long_lists_are_cut(monkeypatch):
    """A fact puts at most INDEXED_PER_FACT wordings in the index and a key's list is read to
    its MAX_POSTING latest entries: later rewordings still join the fact through the indexed
    ones, and each cut list is counted."""
    from monitor.match.facts import group

    monkeypatch.setattr(group, "INDEXED_PER_FACT", 2)
    monkeypatch.setattr(group, "MAX_POSTING", 1)
    base = "Roughly 39,000 people made refugee claims after crossing at Roxham Road in 2022"
    endings = ["", ", figures show", ", federal figures show", ", the figures show", " alone"]
    members = [
        _member(f"O{i}", base + end + ".", T0 + timedelta(hours=i)) for i, end in enumerate(endings)
    ]
    stats = Stats()
    (fact,) = story_facts(members, stats=stats)
    assert fact["articles"] == len(endings)
    assert stats.truncated_lists > 0


def test_the_facts_table_shows_lags_day_only_dates_and_rewordings():
    """``monitor story facts`` shows a day-only first carrier as its day, lags in minutes, hours
    and days, a reworded carrier's own sentence with its score and whether its figures differ,
    and says so when no fact is carried twice."""
    from monitor.cli import present

    assert [present.lag(s) for s in (0, 59 * 60, 16 * 3600 + 50 * 60, 93_300)] == [
        "+0m",
        "+59m",
        "+16h50m",
        "+1d01h55m",
    ]
    brief = Member("Brief", "seed:b", T0.replace(hour=0, minute=0), "day", T0, WIRE)
    blog = Member("Blog", "https://blog", None, None, T0 + timedelta(days=1, hours=1), WIRE)
    reworded = WIRE.replace("Roughly 39,000", "About 39,500")
    story = [brief, blog, _member("Post", reworded, T0 + timedelta(days=2))]
    lines = present.facts_text("s", 2, story_facts(story))
    assert lines[0] == "s: 2 facts carried by two articles or more, all, first report first"
    assert "   first  Brief  2023-03-23 (day only)  seed:b" in lines
    assert "   later  Blog  +1d01h00m  https://blog" in lines
    assert any(
        line.startswith("          reworded (") and "other figures): About" in line
        for line in lines
    )
    assert present.facts_text("s", 0, []) == ["s: no fact is carried by two articles or more"]
