"""Configuration: defaults, the shipped file, environment overrides, and a one-line ConfigError
naming the file, the key and the mistake for every kind of mistake."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from monitor import config as configmod
from monitor.errors import ConfigError, UserError
from tests.conftest import REPO

DOC = REPO / "docs" / "configuration.md"


def _write(tmp_path: Path, text: str, name: str = "monitor.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _value(cfg: configmod.Config, setting: configmod.Setting):
    section = getattr(cfg, setting.section)
    attr = next(f.name for f in dataclasses.fields(section) if f.name.rstrip("_") == setting.key)
    return getattr(section, attr)


def _error(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        configmod.load(path, env=env or {})
    message = str(info.value)
    assert "\n" not in message, "a configuration error is one line"
    return message


# --- loading -------------------------------------------------------------------------------


def test_no_file_gives_every_default():
    """With no path and no MONITOR_CONFIG every setting has its declared default and there
    are no sources or stories."""
    cfg = configmod.load(None, env={})
    assert cfg.path == "<defaults>"
    assert cfg.sources == () and cfg.stories == ()
    for setting in configmod.SETTINGS:
        assert _value(cfg, setting) == setting.default, setting.env
    assert cfg.storage.url == "sqlite:///data/monitor.sqlite"
    assert cfg.fetch.allow_private_networks is False
    assert cfg.poll.default_interval == 1800.0


def test_shipped_roxham_road_file_loads():
    """config/roxham-road.toml loads: 15 feeds with their intervals, six query sources (Google
    News and Bing in English and French, GDELT) and one story whose seeds folder (relative to
    the file) exists and holds seed files."""
    cfg = configmod.load(REPO / "config" / "roxham-road.toml", env={})
    feeds = [s for s in cfg.sources if s.kind == "feed"]
    assert len(feeds) == 15 and len(cfg.sources) == 21
    assert len({s.url for s in cfg.sources}) == 21
    queries = {(s.kind, s.language) for s in cfg.sources if s.kind != "feed"}
    assert queries == {(k, lang) for k in configmod.QUERY_KINDS for lang in ("en", "fr")}
    by_name = {s.name: s for s in cfg.sources}
    assert by_name["CBC News"].interval == 15 * 60
    assert by_name["National Post"].interval is None  # falls back to [poll] default_interval
    assert cfg.poll.default_interval == 30 * 60 and cfg.poll.tick == 60
    assert cfg.storage.url == "sqlite:///data/roxham-road.sqlite"
    assert cfg.email.from_ == "news-monitor@localhost" and cfg.email.to == []
    (story,) = cfg.stories
    assert story.slug == "roxham-road"
    assert story.sources is None
    assert "Roxham" in story.keywords
    assert story.seeds == (REPO / "seeds" / "roxham-road").resolve()
    assert story.seeds.is_dir() and list(story.seeds.glob("*.txt"))


def test_source_defaults_name_to_host_and_story_title_to_slug(tmp_path):
    """A [[source]] without name is named after its host; a [[story]] without title takes its
    slug; url spaces are trimmed; sources narrows a story to the named outlets."""
    path = _write(
        tmp_path,
        '[[source]]\nurl = " https://www.example.org/feed.xml "\n\n'
        '[[source]]\nurl = "http://news.example.net/rss"\nname = "Example Net"\n'
        "interval = 90\n\n"
        '[[story]]\nslug = "my-story-2"\nsources = ["Example Net"]\n',
    )
    cfg = configmod.load(path, env={})
    first, second = cfg.sources
    assert first.url == "https://www.example.org/feed.xml"
    assert first.name == "www.example.org"
    assert (second.name, second.interval) == ("Example Net", 90.0)
    (story,) = cfg.stories
    assert (story.title, story.seeds, story.sources) == ("my-story-2", None, ("Example Net",))
    assert story.story_threshold is None  # [match] story_threshold applies


def test_a_story_threshold_is_read_as_a_number():
    """A [[story]] story_threshold, integer or float, is the story's own threshold."""
    for written, value in (("0.2", 0.2), ("0", 0.0), ("1", 1.0)):
        cfg = configmod.from_mapping(
            tomllib.loads(f'[[story]]\nslug = "s"\nstory_threshold = {written}\n')
        )
        assert cfg.stories[0].story_threshold == value


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("90", 90),
        ("90.5", 90.5),
        ('"90"', 90),
        ('"90s"', 90),
        ('"30m"', 1800),
        ('"1.5h"', 5400),
        ('"6h"', 21600),
        ('"2d"', 172800),
        ('"1w"', 604800),
    ],
)
def test_duration_syntax(tmp_path, written, seconds):
    """Durations are seconds as a number, or a string with an s, m, h, d or w unit."""
    cfg = configmod.load(_write(tmp_path, f"[poll]\ntick = {written}\n"), env={})
    assert cfg.poll.tick == seconds


def test_monitor_config_names_the_file_when_no_path_is_given(tmp_path):
    """MONITOR_CONFIG is read when no path is passed; an explicit path wins over it."""
    from_env = _write(tmp_path, '[log]\nlevel = "debug"\n', "env.toml")
    explicit = _write(tmp_path, '[log]\nlevel = "warning"\n', "explicit.toml")
    env = {"MONITOR_CONFIG": str(from_env)}
    cfg = configmod.load(None, env=env)
    assert cfg.path == str(from_env) and cfg.log.level == "debug"
    assert configmod.load(explicit, env=env).log.level == "warning"
    assert configmod.load(None, env={"MONITOR_CONFIG": ""}).path == "<defaults>"


# --- environment overrides -----------------------------------------------------------------


OVERRIDES = [
    # (variable, its text, (section, attribute), the value it gives)
    (
        "MONITOR_STORAGE_URL",
        "sqlite:////tmp/x.sqlite",
        ("storage", "url"),
        "sqlite:////tmp/x.sqlite",
    ),
    ("MONITOR_EMAIL_FROM", "desk@example.org", ("email", "from_"), "desk@example.org"),
    ("MONITOR_FETCH_ALLOW_PRIVATE_NETWORKS", "yes", ("fetch", "allow_private_networks"), True),
    ("MONITOR_FETCH_ALLOW_PRIVATE_NETWORKS", "TRUE", ("fetch", "allow_private_networks"), True),
    ("MONITOR_FETCH_ALLOW_PRIVATE_NETWORKS", "0", ("fetch", "allow_private_networks"), False),
    ("MONITOR_FETCH_ALLOW_PRIVATE_NETWORKS", "", ("fetch", "allow_private_networks"), False),
    ("MONITOR_POLL_BATCH_SIZE", "200", ("poll", "batch_size"), 200),
    ("MONITOR_MATCH_COPY_THRESHOLD", "0.85", ("match", "copy_threshold"), 0.85),
    ("MONITOR_POLL_TICK", "2m", ("poll", "tick"), 120.0),
    ("MONITOR_POLL_RECHECK_FOR", "3d", ("poll", "recheck_for"), 259200.0),
    ("MONITOR_EMAIL_TO", "a@x.org, b@x.org,", ("email", "to"), ["a@x.org", "b@x.org"]),
    ("MONITOR_EMAIL_TO", "", ("email", "to"), []),
]


@pytest.mark.parametrize(("variable", "text", "attribute", "expected"), OVERRIDES)
def test_environment_overrides_a_setting(variable, text, attribute, expected):
    """MONITOR_<SECTION>_<KEY> sets str, bool, int, float, duration and comma-separated list
    settings from their text."""
    cfg = configmod.load(None, env={variable: text})
    section, attr = attribute
    assert getattr(getattr(cfg, section), attr) == expected


def test_environment_wins_over_the_file(tmp_path):
    """A variable overrides the value written in the file; the file's other keys stay."""
    path = _write(
        tmp_path,
        "[fetch]\nallow_private_networks = true\nmax_redirects = 3\n"
        '[email]\nto = ["file@example.org"]\n[poll]\ntick = "5m"\n',
    )
    env = {
        "MONITOR_FETCH_ALLOW_PRIVATE_NETWORKS": "off",
        "MONITOR_EMAIL_TO": "env@example.org",
        "MONITOR_POLL_TICK": "30s",
    }
    cfg = configmod.load(path, env=env)
    assert cfg.fetch.allow_private_networks is False
    assert cfg.fetch.max_redirects == 3
    assert cfg.email.to == ["env@example.org"]
    assert cfg.poll.tick == 30.0


def test_every_setting_has_its_environment_variable():
    """Each SETTINGS entry is overridden by the variable named in its ``env``."""
    samples = {
        "str": "x",
        "bool": "true",
        "int": "17",
        "float": "0.5",
        "duration": "7s",
        "address": "[::1]:0",
        "emails": "a@example.org,b@example.org",
        "email": "other@example.org",
        "schedule": "every 30m",
        "timezone": "Europe/Paris",
        "base_url": "https://news.example.org",
        "url": "http://127.0.0.1:9/replay",
    }
    for setting in configmod.SETTINGS:
        text = samples.get(setting.type, "a,b")
        if setting.type == "bool" and setting.default is True:
            text = "false"
        if setting.choices:
            text = next(c for c in setting.choices if c != setting.default)
        cfg = configmod.load(None, env={setting.env: text})
        assert _value(cfg, setting) != setting.default, setting.env


@pytest.mark.parametrize(
    ("variable", "text", "wrong"),
    [
        ("MONITOR_POLL_BATCH_SIZE", "many", "expected an integer"),
        ("MONITOR_POLL_BATCH_SIZE", "5.0", "expected an integer"),
        ("MONITOR_FETCH_ALLOW_PRIVATE_NETWORKS", "perhaps", "expected true or false"),
        ("MONITOR_POLL_TICK", "soon", "expected a duration"),
        ("MONITOR_POLL_TICK", "0", "must be positive"),
        ("MONITOR_MATCH_COPY_THRESHOLD", "high", "expected a number"),
    ],
)
def test_bad_environment_value_names_the_variable(tmp_path, variable, text, wrong):
    """A variable whose text does not fit its setting is a ConfigError naming the variable and
    saying what was expected."""
    path = _write(tmp_path, "")
    message = _error(path, env={variable: text})
    assert message.startswith(f"environment {variable}: ")
    assert wrong in message and repr(text) in message


# --- mistakes in the file ------------------------------------------------------------------

SOURCE = '[[source]]\nurl = "https://example.org/feed.xml"\nname = "Example"\n\n'

MISTAKES = {
    "unknown section": (
        '[polling]\ntick = "1m"\n',
        ["[polling]", "unknown section", "known: email, fetch, log, match, ops, poll"],
    ),
    "unknown key in a section": (
        "[fetch]\ntimeout = 5\n",
        ["[fetch] timeout", "unknown setting", "connect_timeout"],
    ),
    "bool given a string": (
        '[fetch]\nallow_private_networks = "yes"\n',
        ["[fetch] allow_private_networks", "expected true or false", "'yes'"],
    ),
    "int given a string": (
        '[poll]\nbatch_size = "50"\n',
        ["[poll] batch_size", "expected an integer", "'50'"],
    ),
    "int given a float": (
        "[fetch]\nmax_redirects = 5.0\n",
        ["[fetch] max_redirects", "expected an integer"],
    ),
    "float given a string": (
        '[match]\ncopy_threshold = "high"\n',
        ["[match] copy_threshold", "expected a number"],
    ),
    "list given a number": (
        "[email]\nto = 5\n",
        ["[email] to", "expected a list of strings"],
    ),
    "section not a table": (
        'log = "debug"\n',
        ["[log] must be a table"],
    ),
    "bad duration": (
        '[poll]\ntick = "soon"\n',
        ["[poll] tick", "expected a duration", "'soon'"],
    ),
    "compound duration": (
        '[poll]\ndefault_interval = "1h30m"\n',
        ["[poll] default_interval", "expected a duration", "'1h30m'"],
    ),
    "zero duration": (
        "[poll]\ntick = 0\n",
        ["[poll] tick", "must be positive"],
    ),
    "bool as duration": (
        "[fetch]\nread_timeout = true\n",
        ["[fetch] read_timeout", "expected a duration"],
    ),
    "source without url": (
        SOURCE + '[[source]]\nname = "No URL"\n',
        ["[[source]] #2", "url: missing"],
    ),
    "source url not http(s)": (
        '[[source]]\nurl = "ftp://example.org/feed.xml"\n',
        ["[[source]] #1", "url: expected an http(s) URL", "'ftp://example.org/feed.xml'"],
    ),
    "source url without host": (
        '[[source]]\nurl = "https:///feed.xml"\n',
        ["[[source]] #1", "url: expected an http(s) URL"],
    ),
    "source url with a space": (
        '[[source]]\nurl = "https://example.org/a feed.xml"\n',
        ["[[source]] #1", "url: contains whitespace or a control character", "'https://"],
    ),
    "source url with a tab": (
        '[[source]]\nurl = "https://example.org/a\\tfeed.xml"\n',
        ["[[source]] #1", "url: contains whitespace or a control character"],
    ),
    "source url too long": (
        f'[[source]]\nurl = "https://example.org/{"a" * 2048}"\n',
        ["[[source]] #1", "url: longer than 2048 characters"],
    ),
    "source name not a string": (
        '[[source]]\nurl = "https://example.org/feed.xml"\nname = false\n',
        ["[[source]] #1", "name: expected a string, got False"],
    ),
    "story seeds name too long": (
        f'[[story]]\nslug = "s"\nseeds = "{"x" * 300}"\n',
        ["[[story]] #1", "seeds: cannot read", "xxx"],
    ),
    "nan threshold": (
        "[match]\ncopy_threshold = nan\n",
        ["[match] copy_threshold", "must be at least 0, got nan"],
    ),
    "nan story threshold": (
        '[[story]]\nslug = "s"\nstory_threshold = nan\n',
        ["[[story]] #1", "story_threshold: expected a number from 0 to 1, got nan"],
    ),
    "duplicate source url": (
        SOURCE + '[[source]]\nurl = "https://example.org/feed.xml"\nname = "Again"\n',
        ["[[source]] #2", "url: https://example.org/feed.xml is listed twice"],
    ),
    "source bad interval": (
        '[[source]]\nurl = "https://example.org/feed.xml"\ninterval = "often"\n',
        ["[[source]] #1", "interval: expected a duration", "'often'"],
    ),
    "source unknown key": (
        '[[source]]\nurl = "https://example.org/feed.xml"\nfeed = "rss"\n',
        ["[[source]] #1", "feed: unknown key"],
    ),
    "source as a single table": (
        '[source]\nurl = "https://example.org/feed.xml"\n',
        ["source: use [[source]] tables"],
    ),
    "story with bad slug": (
        '[[story]]\nslug = "Roxham Road"\n',
        ["[[story]] #1", "slug: expected lower-case letters, digits and dashes", "'Roxham Road'"],
    ),
    "story without slug": (
        '[[story]]\ntitle = "No slug"\n',
        ["[[story]] #1", "slug:", "None"],
    ),
    "story seeds folder missing": (
        '[[story]]\nslug = "s"\nseeds = "no-such-seeds"\n',
        ["[[story]] #1", "seeds: no such folder", "no-such-seeds"],
    ),
    "story sources naming an unknown source": (
        SOURCE + '[[story]]\nslug = "s"\nsources = ["Example", "CBC"]\n',
        ["[[story]] #1", "sources: no [[source]] is named 'CBC'"],
    ),
    "story keywords not a list": (
        '[[story]]\nslug = "s"\nkeywords = "Roxham"\n',
        ["[[story]] #1", "keywords: expected a list of strings"],
    ),
    "story threshold out of range": (
        '[[story]]\nslug = "s"\nstory_threshold = 1.5\n',
        ["[[story]] #1", "story_threshold: expected a number from 0 to 1", "1.5"],
    ),
    "story threshold not a number": (
        '[[story]]\nslug = "s"\nstory_threshold = "low"\n',
        ["[[story]] #1", "story_threshold: expected a number from 0 to 1", "'low'"],
    ),
    "story unknown key": (
        '[[story]]\nslug = "s"\nseed = "x"\n',
        ["[[story]] #1", "seed: unknown key"],
    ),
    "duplicate story slug": (
        '[[story]]\nslug = "s"\n\n[[story]]\nslug = "s"\n',
        ["[[story]] slug 's' is used twice"],
    ),
}


@pytest.mark.parametrize("kind", list(MISTAKES))
def test_mistake_names_file_key_and_what_is_wrong(tmp_path, kind):
    """Each kind of mistake in the file is one ConfigError line that starts with the file and
    names the key (or [[source]] #N / [[story]] #N) and the problem."""
    text, expected = MISTAKES[kind]
    path = _write(tmp_path, text)
    message = _error(path)
    assert message.startswith(f"{path}: "), message
    for part in expected:
        assert part in message, (part, message)


def test_config_error_is_a_user_error():
    """ConfigError is a UserError, so the CLI prints it as one line with exit code 2."""
    assert issubclass(ConfigError, UserError) and ConfigError.exit_code == 2


def test_invalid_toml_gives_the_line_number(tmp_path):
    """A TOML syntax error names the file, says it is invalid TOML, and gives the line."""
    path = _write(tmp_path, '[poll]\ntick = "1m"\nbatch_size 50\n')
    message = _error(path)
    assert message.startswith(f"{path}: invalid TOML: ")
    assert "line 3" in message


def test_missing_file(tmp_path):
    """A named file that does not exist is a ConfigError naming it, not a default config."""
    path = tmp_path / "nope.toml"
    assert _error(path) == f"{path}: no such configuration file"
    with pytest.raises(ConfigError, match=r"nope\.toml: no such configuration file"):
        configmod.load(None, env={"MONITOR_CONFIG": str(path)})


def test_file_that_is_not_utf8(tmp_path):
    """A file that is not UTF-8 is a ConfigError saying it cannot be read."""
    path = tmp_path / "latin1.toml"
    path.write_bytes('[email]\nfrom = "caf\xe9@example.org"\n'.encode("latin-1"))
    assert _error(path).startswith(f"{path}: cannot read: ")


def test_source_url_with_broken_ipv6_host_is_a_config_error(tmp_path):
    """A [[source]] url that urlsplit cannot parse is a ConfigError, not a traceback."""
    path = _write(tmp_path, '[[source]]\nurl = "http://[::1/feed"\n')
    message = _error(path)
    assert "[[source]] #1" in message and "url:" in message


def test_source_url_with_invalid_port_is_a_config_error(tmp_path):
    """A [[source]] url whose port is out of range is rejected when the file is loaded."""
    path = _write(tmp_path, '[[source]]\nurl = "http://example.org:99999/feed"\n')
    message = _error(path)
    assert "[[source]] #1" in message and "url:" in message


# --- documentation -------------------------------------------------------------------------


def _doc_rows() -> set[str]:
    return {line.strip() for line in DOC.read_text(encoding="utf-8").splitlines()}


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return json.dumps(value)


def test_every_setting_is_documented():
    """docs/configuration.md has a table row for every setting in SETTINGS with its key, type,
    default and environment variable (fails when a setting is added but not documented)."""
    rows = [line for line in _doc_rows() if line.startswith("| `")]
    for setting in configmod.SETTINGS:
        matching = [r for r in rows if f"| `{setting.env}` |" in r]
        assert len(matching) == 1, f"{setting.env} is not documented in {DOC.name}"
        row = matching[0]
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == f"`{setting.key}`", row
        assert cells[1] == setting.type, row
        shown = "unset" if setting.default is None else f"`{_toml(setting.default)}`"
        assert cells[2].startswith(shown), row
        assert setting.help in row, row


def test_doc_contains_every_row_the_script_prints():
    """Every table row printed by scripts/config_docs.py appears verbatim in the doc."""
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "config_docs.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    printed = [line for line in out.splitlines() if line.startswith("| `")]
    assert len(printed) == len(configmod.SETTINGS) + len(configmod.TABLE_KEYS)
    missing = [line for line in printed if line not in _doc_rows()]
    assert not missing, "run scripts/config_docs.py and update docs/configuration.md:\n" + (
        "\n".join(missing)
    )


def test_every_table_key_is_documented():
    """docs/configuration.md has a row for every [[source]] and [[story]] key in TABLE_KEYS with
    its type, whether it is required, its default and its help (fails when a key is added to
    Source or Story but not documented)."""
    doc = DOC.read_text(encoding="utf-8")
    assert {k.table for k in configmod.TABLE_KEYS} == {"source", "story", "recipient"}
    assert [k.key for k in configmod.TABLE_KEYS if k.table == "story"] == list(configmod.STORY_KEYS)
    for table in ("source", "story", "recipient"):
        section = doc.split(f"## `[[{table}]]`", 1)[1].split("\n## ", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        keys = [k for k in configmod.TABLE_KEYS if k.table == table]
        assert len(rows) == len(keys), table
        for key, row in zip(keys, rows, strict=True):
            cells = [c.strip() for c in row.strip("|").split("|")]
            assert cells[0] == f"`{key.key}`", row
            assert cells[1] == key.type, row
            assert cells[2] == ("yes" if key.required else "no"), row
            default = list(key.default) if isinstance(key.default, tuple) else key.default
            if key.shown is not None:
                assert cells[3] == key.shown, row
            elif not key.required:
                assert cells[3] == f"`{_toml(default)}`", row
            assert key.help in row, row


def test_doc_covers_tables_durations_environment_and_seeds():
    """The doc also documents [[source]] and [[story]] keys, the duration units, MONITOR_CONFIG
    and --config, comma-separated lists and the seed file header keys."""
    doc = DOC.read_text(encoding="utf-8")
    for text in (
        "[[source]]",
        "[[story]]",
        "MONITOR_CONFIG",
        "--config",
        "comma-separated",
        '"90s"',
        '"30m"',
        '"6h"',
        '"2d"',
        '"1w"',
    ):
        assert text in doc, text
    for key in ("url", "name", "interval", *configmod.STORY_KEYS):
        assert f"| `{key}` |" in doc, key
    for key in ("title", "url", "outlet", "published_at", "language", "note"):
        assert f"| `{key}` |" in doc, key


@pytest.mark.parametrize(
    ("section", "key", "value", "says"),
    [
        ("match", "copy_threshold", 5, "must be at most 1"),
        ("match", "num_perm", 0, "must be at least 16"),
        ("fetch", "max_redirects", -1, "must be at least 0"),
        ("poll", "batch_size", 0, "must be at least 1"),
    ],
)
def test_numbers_outside_their_range_are_refused(section, key, value, says):
    """A number outside its declared range is a ConfigError naming the file, section and key."""
    with pytest.raises(ConfigError) as info:
        configmod.from_mapping({section: {key: value}}, where="c.toml", env={})
    assert str(info.value).startswith(f"c.toml: [{section}] {key}: {says}")


@pytest.mark.parametrize(
    ("section", "key", "value", "says"),
    [
        ("email", "schedule", 30, "expected a schedule"),
        (
            "email",
            "schedule",
            "every day at noon",
            "expected immediately, every DURATION or a cron",
        ),
        ("email", "schedule", "61 7 * * *", "cron expression '61 7 * * *'"),
        ("email", "schedule", "every soon", "expected a duration such as 30m"),
        ("email", "timezone", "", "expected a time zone"),
        ("email", "timezone", "Mars/Olympus", "no such time zone: 'Mars/Olympus'"),
        ("web", "base_url", "news.example.org", "expected an absolute http(s) URL"),
        ("web", "base_url", 8080, "expected an absolute http(s) URL"),
    ],
)
def test_schedules_zones_and_the_web_address_are_checked(section, key, value, says):
    """A digest schedule that is no schedule (a cron field out of range included), a time zone
    that does not exist and a web address that is not absolute are ConfigErrors naming the file,
    section and key, read when the configuration is, not when the first digest is due."""
    with pytest.raises(ConfigError) as info:
        configmod.from_mapping({section: {key: value}}, where="c.toml", env={})
    assert str(info.value).startswith(f"c.toml: [{section}] {key}: ")
    assert says in str(info.value)


def test_the_web_address_loses_its_trailing_slash_and_a_valid_schedule_is_kept():
    """``base_url`` is kept without its trailing slash (links are built by adding paths to it);
    ``every 30m`` and a cron expression are kept as written, spaces normalised."""
    cfg = configmod.from_mapping(
        {
            "web": {"base_url": "https://news.example.org/desk/"},
            "email": {"schedule": "0  7 * * 1-5", "timezone": " Europe/Paris "},
        },
        where="c.toml",
        env={},
    )
    assert cfg.web.base_url == "https://news.example.org/desk"
    assert (cfg.email.schedule, cfg.email.timezone) == ("0 7 * * 1-5", "Europe/Paris")


def test_environment_number_outside_its_range_names_the_variable():
    """An out-of-range environment override names the variable."""
    with pytest.raises(ConfigError, match=r"^environment MONITOR_MATCH_NUM_PERM: must be at least"):
        configmod.from_mapping({}, where="c.toml", env={"MONITOR_MATCH_NUM_PERM": "0"})
