"""The program and worksheet definitions: complete, valid, and strict about mistakes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from clinic import create_app
from clinic.library import CONTENT_DIR, ContentError, load_library

WORKSHEETS = {
    "trust_history",
    "trigger_log",
    "self_honesty",
    "thought_record",
    "trust_ladder",
    "behavioural_experiment",
    "consistency_log",
    "conversation_planner",
    "mutual_boundaries",
    "positive_log",
    "walls_openness",
    "red_flags",
    "maintenance_plan",
    "self_compassion_letter",
}
# Not scheduled by the program: set in any week when needed (and offered from self-harm alerts).
ON_DEMAND = {"safety_plan"}


def test_the_program_has_twelve_weeks_in_four_phases_and_all_fourteen_worksheets():
    lib = load_library(CONTENT_DIR)
    assert set(lib.worksheets) == WORKSHEETS | ON_DEMAND
    program = lib.programs["trust12"]
    assert [w.number for w in program.weeks] == list(range(1, 13))
    phases = [w.phase for w in program.weeks]
    assert phases[0] == "Understand the origins" and phases[-1] == "Permission to trust"
    assert set(phases) == {
        "Understand the origins",
        "Be honest with yourself",
        "Rebuild slowly",
        "Permission to trust",
    }
    used = {key for w in program.weeks for key in w.worksheets}
    assert used == WORKSHEETS
    assert program.week(9).worksheets == ("positive_log", "behavioural_experiment")
    assert "baseline_battery" in program.week(1).measures
    assert "midpoint_battery" in program.week(6).measures
    assert "end_battery" in program.week(12).measures
    for week in program.weeks:
        assert len(week.text.split()) >= 60, f"week {week.number} needs its psychoeducation text"


def test_bounds_follow_the_program_specification():
    lib = load_library(CONTENT_DIR)
    rows = {
        k: next(s for s in ws.sections if s.repeat)
        for k, ws in lib.worksheets.items()
        if any(s.repeat for s in ws.sections)
    }
    expected = {
        "trust_history": (1, 15),
        "trigger_log": (1, 14),
        "thought_record": (1, 7),
        "trust_ladder": (3, 10),
        "consistency_log": (1, 14),
        "mutual_boundaries": (1, 6),
        "positive_log": (1, 7),
        "red_flags": (1, 10),
    }
    assert {k: (s.min_rows, s.max_rows) for k, s in rows.items()} == expected
    for ws in lib.worksheets.values():
        for s in ws.sections:
            for f in s.fields:
                if f.type == "integer" and f.key not in ("positive", "negative"):
                    assert (f.min, f.max) == (0, 100), f"{ws.key}.{f.key}"
    assert lib.worksheets["trust_ladder"].section("steps").order_by == "expected_discomfort"


def _copy_content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    return root


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('type = "integer"', 'type = "slider"', "type 'slider' is not one of"),
        ("min = 0\nmax = 100", "min = 100\nmax = 0", "min (100) must be less than max (0)"),
        ('label = "Date"', 'lable = "Date"', "'label' is missing"),
        (
            'show_with = "automatic_thought"',
            'show_with = "nothing_here"',
            "show_with 'nothing_here'",
        ),
        ("max_rows = 7", "max_rows = 7\nmax_rowz = 8", "unknown setting(s) 'max_rowz'"),
        ("version = 1", 'version = "one"', "'version' must be int"),
        ("max_length = 1000", "max_length = 100000", "max_length must be from 1 to"),
        ('key = "situation"', 'key = "Situation!"', "must be lowercase letters"),
    ],
)
def test_a_broken_worksheet_names_the_file_the_field_and_the_problem(tmp_path, old, new, message):
    root = _copy_content(tmp_path)
    path = root / "worksheets" / "thought_record.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_library(root)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_a_field_error_says_which_field(tmp_path):
    root = _copy_content(tmp_path)
    path = root / "worksheets" / "thought_record.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("min = 0\nmax = 100", "min = 100\nmax = 0", 1), encoding="utf-8")
    with pytest.raises(ContentError, match=r"field \d+ 'belief_before'"):
        load_library(root)


def test_a_program_naming_a_missing_worksheet_is_refused(tmp_path):
    root = _copy_content(tmp_path)
    path = root / "programs" / "trust12.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"trigger_log"', '"trigger_diary"', 1), encoding="utf-8")
    with pytest.raises(ContentError, match=r"trust12.toml: week 2: worksheet 'trigger_diary'"):
        load_library(root)


def test_invalid_toml_is_reported_with_its_file(tmp_path):
    root = _copy_content(tmp_path)
    path = root / "worksheets" / "trigger_log.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n[[sections\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"trigger_log\.toml: not valid TOML"):
        load_library(root)


def test_a_broken_practice_worksheet_stops_the_app_at_start_up(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    (instance / "content" / "worksheets").mkdir(parents=True)
    bad = instance / "content" / "worksheets" / "gratitude.toml"
    bad.write_text(
        'key = "gratitude"\nversion = 1\ntitle = "Gratitude"\nsummary = "x"\n'
        '[[sections]]\nkey = "main"\ntitle = "Main"\n[[sections.fields]]\n'
        'key = "note"\ntype = "integer"\nlabel = "Note"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(instance))
    with pytest.raises(
        ContentError, match=r"gratitude.toml: section 1 'main' field 1 'note': 'min' is missing"
    ):
        create_app({"SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://"})


def test_a_practice_can_add_its_own_worksheet(tmp_path):
    extra = tmp_path / "extra"
    (extra / "worksheets").mkdir(parents=True)
    (extra / "worksheets" / "gratitude.toml").write_text(
        'key = "gratitude"\nversion = 1\ntitle = "Gratitude list"\nsummary = "Three good things."\n'
        '[[sections]]\nkey = "items"\ntitle = "Good things"\nrepeat = true\nmin_rows = 1\n'
        'max_rows = 3\n[[sections.fields]]\nkey = "thing"\ntype = "text"\nlabel = "A good thing"\n',
        encoding="utf-8",
    )
    lib = load_library(CONTENT_DIR, extra)
    assert lib.worksheets["gratitude"].section("items").max_rows == 3


def test_alert_on_must_name_choices_of_a_choice_field(tmp_path):
    extra = tmp_path / "extra"
    (extra / "worksheets").mkdir(parents=True)
    (extra / "worksheets" / "worry.toml").write_text(
        'key = "worry"\nversion = 1\ntitle = "Worry"\nsummary = "x"\n'
        '[[sections]]\nkey = "main"\ntitle = "Main"\n[[sections.fields]]\n'
        'key = "kind"\ntype = "choice"\nlabel = "Kind"\nchoices = [["a", "A"], ["b", "B"]]\n'
        'alert_on = ["c"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ContentError, match="alert_on must list choice values"):
        load_library(CONTENT_DIR, extra)


# --- The safety pathway in the shipped content ---------------------------------------------

PARTNER_FACING = {5, 6, 7, 8, 9}


def _program():
    return load_library(CONTENT_DIR).programs["trust12"]


def test_weeks_five_to_nine_are_partner_facing_with_an_adapted_text_and_a_therapist_note():
    program = _program()
    assert program.version == 3
    for week in program.weeks:
        if week.number in PARTNER_FACING:
            assert week.partner_facing, f"week {week.number}"
            for text in (week.adapted, week.therapist_note):
                sentences = [s for s in text.replace("?", ".").split(". ") if s.strip()]
                assert 2 <= len(sentences) <= 4, f"week {week.number}: {text!r}"
        else:
            assert not week.partner_facing, f"week {week.number}"
            assert week.adapted == "" and week.therapist_note == "", f"week {week.number}"


def test_an_adapted_week_sends_the_exercises_elsewhere_and_puts_safety_first():
    for number in sorted(PARTNER_FACING):
        week = _program().week(number)
        adapted = week.adapted.lower()
        assert "friend" in adapted and "session" in adapted, f"week {number}"
        assert "hurt or frightened you" in adapted, f"week {number}"
        assert "need help now?" in adapted, f"week {number}"
        assert "partner" in adapted, f"week {number}: says it is not for use with a partner"


def test_the_therapist_note_says_when_a_week_must_not_be_used_towards_a_partner():
    for number in sorted(PARTNER_FACING):
        note = _program().week(number).therapist_note.lower()
        for risk in (
            "violence",
            "threats",
            "coercive control",
            "stalking",
            "afraid of the partner",
        ):
            assert risk in note, f"week {number} note lacks {risk!r}"
        assert "checking" in note and "control" in note, f"week {number}: the client's own"
        assert "suitability screen" in note, f"week {number}: record the change"
        assert "leave" in note and "other" in note, f"week {number}: other people or leave out"


def test_weeks_one_and_two_teach_red_flags_and_point_to_need_help_now():
    program = _program()
    one, two = program.week(1).text, program.week(2).text
    for text in (one, two):
        assert "red flag" in text.lower()
        assert "‘Need help now?’" in text
        assert "therapist" in text
    # The fuller teaching in week 1: mistrust can be accurate, with concrete examples.
    lowered = one.lower()
    assert "accurate" in lowered
    for sign in ("threat", "afraid", "money", "phone", "who you see", "where you go", "sex"):
        assert sign in lowered, sign
    assert "not for use with someone who" in lowered
    # Week 11 keeps the deeper review and says it builds on weeks 1 and 2.
    assert "weeks 1 and 2" in program.week(11).text
    assert "with a focus on red flags and when to seek more help in week 11" not in (
        program.description
    )
    assert "weeks 1 and 2" in program.description and "week 11" in program.description


def test_checking_and_reassurance_seeking_are_named_as_safety_behaviours_to_reduce():
    program = _program()
    for number in (2, 5, 6):
        text = program.week(number).text.lower()
        assert "safety behaviour" in text, f"week {number}"
        assert "checking" in text and "reassurance" in text, f"week {number}"
    early = program.week(2).text.lower()
    for word in ("questioning", "again and again", "monitoring", "relief", "keep the fear going"):
        assert word in early, word
    assert "gradually" in early
    ladder = load_library(CONTENT_DIR).worksheets["trust_ladder"]
    assert "safety behaviour" in ladder.instructions.lower()
    assert ladder.version == 2


def test_checking_a_partners_phone_or_location_is_named_as_potentially_controlling():
    program = _program()
    one, five = program.week(1).text.lower(), program.week(5).text.lower()
    assert "check their phone" in one  # the CBT example stays...
    assert "feel like control" in one  # ...and says how it can land on the other person
    for word in ("phone", "messages", "location", "social media"):
        assert word in five, word
    assert "controlling" in five and "harm" in five


def _strings(value):
    """Every string in a definition body (labels, help, instructions, texts ...)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _all_content_text():
    lib = load_library(CONTENT_DIR)
    bodies = [p.body for p in lib.programs.values()] + [w.body for w in lib.worksheets.values()]
    return [s for body in bodies for s in _strings(body)]


# Requests that ask someone to account for their whereabouts or to reassure: the examples
# the plan used to model. Reassurance-seeking is a safety behaviour to reduce, not a request.
OLD_REASSURANCE_EXAMPLES = (
    "didn't hear from you",
    "where you were",
    "could you text me",
    "didn't text",
    "text me if",
    "quick text if you're running late",
    "tell each other if plans change",
    "back after ten",
)


def test_no_example_asks_someone_to_account_for_their_whereabouts_or_to_reassure():
    for text in _all_content_text():
        lowered = text.lower()
        for phrase in OLD_REASSURANCE_EXAMPLES:
            assert phrase not in lowered, f"{phrase!r} in {text!r}"


def test_conversations_and_boundaries_send_a_wish_for_reassurance_elsewhere():
    lib = load_library(CONTENT_DIR)
    program = lib.programs["trust12"]
    planner = lib.worksheets["conversation_planner"]
    boundaries = lib.worksheets["mutual_boundaries"]
    assert planner.version == 2 and boundaries.version == 2
    for where, text in (
        ("week 7", program.week(7).text),
        ("week 8", program.week(8).text),
        ("planner", " ".join(_strings(planner.body))),
    ):
        lowered = text.lower()
        assert "reassurance" in lowered and "thought record" in lowered, where
        assert "session" in lowered, where
    for text in (program.week(7).text, program.week(8).text, boundaries.instructions):
        assert "where" in text and "who they see" in text  # not a request to make of anyone


def test_the_consistency_log_is_filled_from_what_you_naturally_notice_never_by_checking():
    lib = load_library(CONTENT_DIR)
    log = lib.worksheets["consistency_log"]
    assert log.version == 2
    for where, text in (
        ("worksheet", log.instructions),
        ("week 6", lib.programs["trust12"].week(6).text),
    ):
        lowered = text.lower()
        assert "naturally see or hear" in lowered, where
        for never in ("go looking", "check", "ask other people", "test"):
            assert never in lowered, f"{where}: {never!r}"
    assert "naturally" in log.section("entries").field("said").help


def test_content_is_region_neutral():
    """‘Your doctor’, never ‘GP’; ‘your local emergency number’, never a country's number."""
    for path in sorted(CONTENT_DIR.rglob("*.toml")):
        assert not re.search(r"\bGP\b", path.read_text(encoding="utf-8")), path
    for text in _all_content_text():
        assert not re.search(r"\b(999|911|112)\b", text), text


# The worksheets this release reworded keep every field key and choice value: stored answers
# and clinic/demo_answers.toml refer to them.
REWORDED_WORKSHEET_SHAPES = {
    "trust_ladder": {
        "steps": [
            "step",
            "who_with",
            "expected_discomfort",
            ("done", ("yes", "no")),
            "actual_discomfort",
        ],
    },
    "conversation_planner": {
        "before": ["concern", "observed", "affected", "say", "ask"],
        "after": ["how_it_went", "learned"],
    },
    "mutual_boundaries": {
        "boundaries": [
            "boundary",
            "why",
            "how_say",
            "ask_of_other",
            "if_crossed",
            ("agreed", ("yes", "not_yet", "no")),
        ],
    },
    "consistency_log": {
        "entries": ["date", "said", "did", ("matched", ("yes", "partly", "no")), "reaction"],
    },
}


def test_reworded_worksheets_keep_their_field_keys_and_choice_values():
    lib = load_library(CONTENT_DIR)
    for key, shape in REWORDED_WORKSHEET_SHAPES.items():
        ws = lib.worksheets[key]
        assert ws.version == 2, key
        found = {
            s.key: [
                f.key if not f.choices else (f.key, tuple(v for v, _ in f.choices))
                for f in s.fields
            ]
            for s in ws.sections
        }
        assert found == shape, key
