"""The caseload of a busy therapist (150 clients, seeded by bench/seed.py) in a real browser:
it fits the window from 1024 px without a sideways scroll, scores carry their band's colour
and name, change figures name their convention, and the name search, filters and sort orders
work without JavaScript and stay in the address. axe-core checks it at 375 and 1280 px."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    AXE,
    AXE_TAGS,
    FAILING_IMPACTS,
    OUTPUT,
    ROOT,
    _free_port,
    served,
)

EMAIL = "heavy@bench.test"
PASSWORD = "bench practice password"  # bench/seed.py gives every account this one
CLIENTS = 150
# A name as long as the form allows, with no space to wrap at, and one in another script.
LONG_NAME = "Maximiliana-Wolfeschlegelsteinhausenbergerdorff-" * 2 + "Alexandrovna-Ng"
GREEK_NAME = "Ελευθερία Παπαδοπούλου-Αθανασίου"


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=10_000)
    return playwright_expect(target)


@pytest.fixture(scope="module")
def busy_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A practice seeded by bench/seed.py with one therapist of 150 clients, served by
    `flask run` from its own instance folder."""
    instance = tmp_path_factory.mktemp("busy-instance")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    env["CLINIC_INSTANCE_PATH"] = str(instance)
    env["CLINIC_SECRET_KEY"] = "bench-" + "x" * 32  # the key bench/seed.py builds its app with
    database = instance / "clinic.sqlite3"
    seeded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, 'bench'); import seed; "
            f"seed.seed('sqlite:///{database}', 0, 0, {CLIENTS}, 0, 1, ())",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    with sqlite3.connect(database) as con:
        for n, name in ((3, LONG_NAME), (4, GREEK_NAME)):
            con.execute(
                "update user_account set display_name = ? where email = ?",
                (name, f"heavy-{n}@client.bench.test"),
            )
    with served(env, instance, _free_port()) as base_url:
        yield base_url


@pytest.fixture(params=[False], ids=["no-js"])
def therapist(request: pytest.FixtureRequest, browser: Any, busy_site: str) -> Iterator[Any]:
    """The busy therapist, signed in; without JavaScript unless a test asks for it (every
    step here must work without it)."""
    context = browser.new_context(
        base_url=busy_site,
        viewport={"width": 1280, "height": 800},
        java_script_enabled=request.param,
    )
    page = context.new_page()
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your caseload")
    yield page
    context.close()


def shoot(page: Any, name: str) -> None:
    """Keep a photograph for people to look at, when screenshots are kept."""
    if os.environ.get("CLINIC_E2E_SCREENSHOTS") == "always":
        target = OUTPUT / "caseload"
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / f"{name}.png"), full_page=True, timeout=60_000)


def widths(page: Any) -> dict[str, int]:
    return page.evaluate(
        """() => {
          const s = document.scrollingElement, w = document.querySelector('.table-wrap');
          return {page: s.scrollWidth, window: s.clientWidth,
                  table: w.scrollWidth, box: w.clientWidth};
        }"""
    )


@pytest.mark.parametrize("width", [1024, 1280, 1920])
def test_150_clients_fit_the_window_without_a_sideways_scroll(therapist: Any, width: int) -> None:
    page = therapist
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/therapist/")
    rows = page.locator("table.dashboard tbody tr")
    expect(rows).to_have_count(CLIENTS)
    found = widths(page)
    assert found["page"] <= found["window"], found
    assert found["table"] <= found["box"], found
    # every column is on screen: the last one's right edge is inside the window
    last = page.locator("table.dashboard thead th").last.bounding_box()
    assert last["x"] + last["width"] <= width, (last, width)
    # the long unbroken name wraps inside its cell
    name = page.get_by_role("link", name=LONG_NAME).bounding_box()
    assert name["x"] + name["width"] <= width / 3, name
    shoot(page, f"caseload-{width}")


def test_scores_and_changes_read_at_a_glance(therapist: Any) -> None:
    page = therapist
    page.goto("/therapist/?sort=name")
    table = page.locator("table.dashboard")
    # a score chip: the number and its band's name, coloured by severity like the record
    chip = table.locator(".score-chip").first
    expect(chip).to_have_text(re.compile(r"^\d+ (minimal|mild|moderate|moderately severe|severe)$"))
    colours = page.evaluate(
        """() => [...new Set([...document.querySelectorAll('.dashboard .score-chip')]
             .map(c => getComputedStyle(c).backgroundColor))]"""
    )
    assert len(colours) >= 3, colours  # several bands, several colours
    # a change chip on one line, its convention shown short and named in full
    change = table.locator(".change-chip").filter(has_text="PHQ-9").first
    expect(change).to_contain_text("JT")
    expect(change).to_have_attribute("title", "Jacobson–Truax reliable change index")
    box = change.bounding_box()
    line = page.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)", change.element_handle())
    assert box["height"] < 2 * line, (box, line)
    # "Not on track" keeps its amber badge; it is not an alert
    flag = table.locator(".not-on-track").first
    expect(flag).to_contain_text("Not on track (")
    assert "alert-badge" not in (flag.get_attribute("class") or "")


def test_search_filter_and_sort_live_in_the_address_without_javascript(therapist: Any) -> None:
    page = therapist
    page.goto("/therapist/")
    page.get_by_role("link", name="Needs attention").click()
    page.get_by_label("Find a client by name").fill("heavy-10")
    page.get_by_label("Find a client by name").press("Enter")
    assert "q=heavy-10" in page.url and "filter=attention" in page.url
    names = page.locator("table.dashboard tbody th").all_inner_texts()
    assert names and all("heavy-10" in n for n in names), names
    page.get_by_role("link", name="Client", exact=True).click()  # sort by name
    assert "sort=name" in page.url and "q=heavy-10" in page.url and "filter=attention" in page.url
    names = page.locator("table.dashboard tbody th a").all_inner_texts()
    assert names == sorted(names, key=str.lower), names
    page.get_by_role("link", name="To review").click()
    assert "filter=review" in page.url and "q=heavy-10" in page.url
    for row in page.locator("table.dashboard tbody tr").all():
        expect(row).to_contain_text("to review")
    # a bookmark brings the same view back
    again = page.url
    page.goto("/therapist/")
    page.goto(again)
    expect(page.get_by_label("Find a client by name")).to_have_value("heavy-10")
    page.get_by_label("Find a client by name").fill("παπαδο")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Everyone").click()
    expect(page.locator("table.dashboard tbody th")).to_have_text([GREEK_NAME])
    page.get_by_role("link", name="Clear search").click()
    expect(page.locator("table.dashboard tbody tr")).to_have_count(CLIENTS)


@pytest.mark.parametrize("therapist", [True], ids=["js"], indirect=True)
@pytest.mark.parametrize("width,height", [(375, 812), (1280, 800)])
def test_axe_finds_nothing_serious(therapist: Any, width: int, height: int) -> None:
    page = therapist
    page.set_viewport_size({"width": width, "height": height})
    problems = []
    for path in ("/therapist/", "/therapist/?filter=review&sort=name&q=heavy-1"):
        page.goto(path)
        page.evaluate(Path(AXE).read_text(encoding="utf-8"))
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
        )
        problems += [
            f"{path} {v['id']} ({v['impact']}): {v['help']} -> "
            + "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:5])
            for v in result["violations"]
            if v["impact"] in FAILING_IMPACTS
        ]
        found = widths(page)
        assert found["page"] <= found["window"], (path, found)
        shoot(page, f"caseload-axe-{width}-{path.count('&')}")
    assert not problems, "\n".join(problems)
