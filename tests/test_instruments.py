"""Instrument definitions: the shipped ones, practice-supplied ones and clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clinic import create_app, measures
from clinic.library import CONTENT_DIR, ContentError

EXAMPLE = Path(__file__).parent / "data" / "instruments" / "example_trust.toml"


def test_shipped_instruments_carry_codes_licences_and_sources():
    found = measures.load_instruments(CONTENT_DIR / "instruments")
    assert list(found) == ["phq9", "gad7", "wsas", "csi4"]
    phq9 = found["phq9"]
    assert (phq9.loinc_panel, phq9.loinc_total) == ("44249-1", "44261-6")
    assert [i.loinc for i in phq9.items] == [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    ]
    assert [o.loinc for o in phq9.items[0].options] == [
        "LA6568-5",
        "LA6569-3",
        "LA6570-1",
        "LA6571-9",
    ]
    assert phq9.items[8].text.startswith("Thoughts that you would be better off dead")
    assert "Pfizer" in phq9.attribution and "Pfizer" in found["gad7"].attribution
    assert [e.key for e in phq9.extra_items] == ["difficulty"]
    assert (found["gad7"].min_total, found["gad7"].max_total) == (0, 21)
    assert (found["wsas"].min_total, found["wsas"].max_total) == (0, 40)
    assert (found["csi4"].min_total, found["csi4"].max_total) == (0, 21)
    assert found["csi4"].higher_is_better and not found["phq9"].higher_is_better
    for inst in found.values():
        assert inst.citation and inst.licence and inst.change.cutoff_source


def test_a_practice_supplies_its_own_instrument_in_the_instance_folder(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    (instance / "instruments").mkdir(parents=True)
    shutil.copy(EXAMPLE, instance / "instruments")
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(instance))
    app = create_app({"SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://"})
    with app.app_context():
        assert list(measures.instruments())[-1] == "example_trust"
        # Reverse-keyed items: answers 4, 1, 3, 2 score 4 + 4 + 3 + 3 = 14.
        result = measures.score("example_trust", [4, 1, 3, 2])
        assert (result.total, result.band) == (14, "moderate or high trust")
        assert result.subscales == {"reliance": 8, "openness": 6}
        from clinic import questionnaires

        assert "example_trust" in questionnaires.battery_codes()
    assert "example_trust" not in measures.instruments()  # outside the app: shipped ones only


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "min = 10\nmax = 16",
            "min = 11\nmax = 16",
            "band 'moderate or high trust' starts at 11, expected 10",
        ),
        ('items = ["3", "4"]', 'items = ["3", "5"]', "subscale 2: items ['5'] are not items"),
        ("reverse = true", 'reverse = "yes"', "'reverse' must be bool"),
        ("sd = 3.0", "sd = -3.0", "'sd' must be positive"),
        ("reliability = 0.8", "reliability = 1.2", "'reliability' must be between 0 and 1"),
        (
            '{ value = 2, label = "A little true" }',
            '{ value = 1, label = "A little true" }',
            "option values must rise",
        ),
        ('short_name = "ETS"', 'shortname = "ETS"', "'short_name' is missing"),
        ("battery = true", 'battery = true\ncolour = "blue"', "unknown setting(s) 'colour'"),
    ],
)
def test_a_broken_practice_instrument_is_refused_naming_file_and_problem(
    tmp_path, old, new, message
):
    folder = tmp_path / "instruments"
    folder.mkdir()
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    broken = folder / "example_trust.toml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        measures.load_instruments(folder)
    assert str(broken) in str(caught.value) and message in str(caught.value)


def test_a_practice_instrument_cannot_replace_a_shipped_one(tmp_path):
    folder = tmp_path / "instruments"
    folder.mkdir()
    (folder / "phq9.toml").write_text(
        EXAMPLE.read_text(encoding="utf-8").replace('code = "example_trust"', 'code = "phq9"'),
        encoding="utf-8",
    )
    with pytest.raises(ContentError, match="an instrument with code 'phq9' exists"):
        measures.load_instruments(CONTENT_DIR / "instruments", folder)
