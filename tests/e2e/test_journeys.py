"""The main journeys, walked in a real browser by visible labels and roles: an admin adds a
therapist; the therapist adds a client; the client, on a phone, does a week's work; the
therapist sees it, reviews it, acts on the alert, signs the session note and downloads the
session summary PDF.

Each step is a function of the shared Journey, run in order by one test, so a step can be added
where a feature lands."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .conftest import PHONE, Browsing

PASSWORD_THERAPIST = "north light over quiet water"
PASSWORD_CLIENT = "three green kettles singing"
CRISIS_CONTACTS = "Harbour Street out-of-hours line: 0800 555 0199"


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=10_000)  # a shared CI machine can be slow
    return playwright_expect(target)


@dataclass
class Journey:
    browsing: Browsing
    admin: Any = None
    therapist: Any = None
    client: Any = None
    therapist_link: str = ""
    client_link: str = ""

    def check(self, page: Any, name: str) -> None:
        self.browsing.check(page, name)


def sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def follow_main_link(page: Any, name: str) -> None:
    """Use the main navigation as a person would: on a phone, open the Menu first."""
    menu = page.locator("summary", has_text="Menu")
    if menu.is_visible():
        menu.click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def admin_adds_therapist(j: Journey) -> None:
    site = j.browsing.site
    j.admin = page = j.browsing.person("admin")
    page.goto("/sign-in")
    j.check(page, "sign-in")
    page.keyboard.press("Tab")  # the first stop is the way past the header
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    sign_in(page, site.admin_email, site.admin_password)
    expect(page.get_by_role("heading", level=1)).to_have_text("People at Harbour Street Practice")
    j.check(page, "admin-people")
    follow_main_link(page, "Add a therapist")
    j.check(page, "admin-new-therapist")
    page.get_by_label("Name", exact=False).first.fill("Theo Okafor")
    page.get_by_label("Email address").fill("theo@harbour.example")
    page.get_by_role("button", name="Add therapist").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invitation link for Theo Okafor")
    j.check(page, "invitation-link")
    j.therapist_link = page.get_by_label("Invitation link").input_value()
    follow_main_link(page, "People")
    row = page.get_by_role("row").filter(has_text="Theo Okafor")
    expect(row).to_contain_text("Waiting for the invitation to be accepted")

    follow_main_link(page, "Settings")
    j.check(page, "admin-settings")
    page.get_by_label("Crisis contacts shown to clients").fill(CRISIS_CONTACTS)
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()


def therapist_accepts_invitation(j: Journey) -> None:
    j.therapist = page = j.browsing.person("therapist")
    page.goto(j.therapist_link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Theo Okafor")
    j.check(page, "accept-invitation")
    page.get_by_label("Choose a password").fill(PASSWORD_THERAPIST)
    page.get_by_label("Type the password again").fill(PASSWORD_THERAPIST)
    page.get_by_role("button", name="Set up my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your caseload")
    j.check(page, "caseload-empty")


def therapist_adds_client_and_copies_invitation(j: Journey) -> None:
    page = j.therapist
    page.get_by_role("link", name="Add a client").first.click()
    j.check(page, "new-client")
    page.get_by_label("Name or pseudonym").fill("Sam Rivers")
    page.get_by_role("button", name="Add client").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invitation link for Sam Rivers")
    link = page.get_by_label("Invitation link")
    j.client_link = link.input_value()
    assert re.fullmatch(rf"{re.escape(j.browsing.site.base_url)}/invitation/\S+", j.client_link)
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("status").filter(has_text="Link copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == j.client_link

    # The plan started eight days ago, so the client is in week 2 with last week's baseline
    # questionnaires still open and the weekly check-in due.
    page.get_by_role("link", name="Caseload").first.click()
    page.get_by_role("link", name="Sam Rivers", exact=True).click()
    j.check(page, "client-record-new")
    therapist_records_the_screen(j)
    page.get_by_role("link", name="Start the 12-week plan").click()
    j.check(page, "start-plan")
    expect(page.get_by_text("week 7 adapted (not towards a partner)")).to_be_visible()
    first = page.get_by_label("First session")
    start = dt.date.fromisoformat(first.input_value()) - dt.timedelta(days=8)
    first.fill(start.isoformat())
    page.get_by_label("Weekday of the sessions").select_option(label=start.strftime("%A"))
    page.get_by_role("button", name="Start the plan").click()
    expect(page.get_by_role("status")).to_contain_text("The plan has started")
    expect(page.get_by_text("Week 2/12 · Understand the origins")).to_be_visible()


SCREEN_AREAS = (
    "partner_harm",
    "own_behaviour",
    "risk_to_others",
    "self_harm",
    "trauma",
    "infidelity",
    "jealousy",
    "substances",
    "children",
)


def therapist_records_the_screen(j: Journey) -> None:
    """No plan without the suitability screen: the record says so; a current concern needs a
    note (the error sits by the field and the choices stay); 'with changes' adapts week 7."""
    page = j.therapist
    expect(page.get_by_role("link", name="Start the 12-week plan")).to_have_count(0)
    page.get_by_role("link", name="Record the screen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Suitability and safety screen for Sam Rivers"
    )
    for area in SCREEN_AREAS:
        page.locator(f"#{area}-status-0").check()  # no concern
    page.locator("#own_behaviour-status-2").check()  # a concern now
    page.locator("#outcome-outcome-1").check()  # suitable with changes
    page.locator("#outcome-week_7-1").check()  # adapted
    page.get_by_role("button", name="Record the screen").click()
    expect(page.locator("#error-summary")).to_contain_text("Please answer this")
    expect(page.locator("#own_behaviour-status-2")).to_be_checked()
    j.check(page, "screen-form-errors")
    page.locator("#own_behaviour-notes").fill("Checks partner's phone when anxious; agreed target.")
    page.locator("#outcome-changes").fill("Week 7 practised with a friend first.")
    page.get_by_role("button", name="Record the screen").click()
    expect(page.get_by_role("status")).to_contain_text("The screen is recorded: suitable with")
    screen = page.locator("#screen")
    expect(screen).to_contain_text("Checks partner's phone when anxious")
    expect(screen).to_be_in_viewport()  # at the top of the record


def client_accepts_on_a_phone(j: Journey) -> None:
    j.client = page = j.browsing.person("client", PHONE)
    page.goto(j.client_link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Sam Rivers")
    page.get_by_label("Email address").fill("sam@rivers.example")
    page.get_by_label("Choose a password").fill(PASSWORD_CLIENT)
    page.get_by_label("Type the password again").fill(PASSWORD_CLIENT)
    page.get_by_role("button", name="Set up my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Triggers: past echoes in present situations"
    )
    expect(page.get_by_text("Understand the origins · Week 2 of 12")).to_be_visible()
    j.check(page, "client-this-week")

    # The phone menu by keyboard: Enter opens it, it shows where you are, Escape closes it.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    menu = page.locator("summary", has_text="Menu")
    menu.focus()
    page.keyboard.press("Enter")
    expect(nav.get_by_role("link", name="This week")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Who has seen my record")).to_be_visible()
    j.check(page, "client-menu-open")
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()


def client_checks_in_with_the_keyboard(j: Journey) -> None:
    """The check-in done with the keyboard alone: Tab to a group, arrows to choose, Enter."""
    page = j.client
    page.get_by_role("link", name="Check in for week 2").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Week 2 check-in")
    j.check(page, "check-in")
    trust = page.get_by_role("group", name=re.compile("able have I felt to trust"))
    trust.get_by_label("0", exact=True).focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    expect(trust.get_by_label("6", exact=True)).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    distress = page.get_by_role("group", name=re.compile("How distressed"))
    expect(distress.get_by_label("3", exact=True)).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Anything your therapist should know?")).to_be_focused()
    page.keyboard.type("Work was busy, but I felt steadier.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send my check-in")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for checking in")
    j.check(page, "check-in-done")
    page.get_by_role("link", name="Back to this week").click()


def client_writes_a_goal(j: Journey) -> None:
    """On the phone: a goal in the client's own words, from This week's prompt."""
    page = j.client
    page.get_by_role("link", name="Write my goals").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My goals")
    j.check(page, "client-goals-empty")
    page.get_by_role("button", name="Save my goal").click()  # nothing written yet
    expect(page.get_by_text("Write the goal in a few words.").first).to_be_visible()
    page.get_by_label("My goal, in my own words").fill("Reply to my sister within a day")
    page.get_by_role("button", name="Save my goal").click()
    expect(page.get_by_text("“Reply to my sister within a day”")).to_be_visible()
    j.check(page, "client-goals")
    follow_main_link(page, "This week")


def therapist_rates_the_goal_in_session(j: Journey) -> None:
    """On the record: the client's goal; on its page, a rating given in session."""
    page = j.therapist
    goals = page.get_by_role("region", name="Client's goals")
    expect(goals).to_contain_text("Reply to my sister within a day")
    goals.get_by_role("link", name="Set, reword or rate goals").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sam Rivers's goals")
    group = page.get_by_role("group", name=re.compile("Goal 1: “Reply to my sister"))
    group.get_by_label("4", exact=True).check()
    page.get_by_role("button", name="Save the ratings").click()
    expect(page.get_by_text("Latest rating 4 of 10")).to_be_visible()
    j.check(page, "therapist-goals")
    page.get_by_role("link", name="Sam Rivers").first.click()


def client_answers_phq9(j: Journey) -> None:
    """The PHQ-9 from last week's baseline; an answer to item 9 shows the crisis contacts."""
    page = j.client
    # Plain words first, the acronym second, and how much of the week is done.
    expect(page.get_by_text(re.compile(r"^\d+ of \d+ done this week"))).to_be_visible()
    page.get_by_role("link", name="Answer Mood check (PHQ-9)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mood check (PHQ-9)")
    about = page.locator("details.about-measure")
    expect(about.locator("p.source")).not_to_be_visible()  # the reference is folded away
    about.get_by_text("About this questionnaire").click()
    expect(about).to_contain_text("Kroenke")
    j.check(page, "questionnaire")
    page.get_by_role("button", name="Send my answers").click()  # nothing chosen yet
    summary = page.get_by_role("alert").filter(has_text="Please answer every question")
    expect(summary).to_be_visible()
    j.check(page, "questionnaire-errors")
    groups = page.get_by_role("group")
    for n in range(1, 10):
        item = groups.filter(has=page.locator("legend", has_text=re.compile(rf"^{n}\.")))
        choice = "Several days" if n in (1, 2, 9) else "Not at all"
        item.get_by_label(choice).check()
    page.get_by_role("button", name="Send my answers").click()
    safety = page.get_by_role("alert").filter(has_text="Please look after yourself")
    expect(safety).to_contain_text(CRISIS_CONTACTS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    j.check(page, "questionnaire-answered")
    page.get_by_role("link", name="Back to this week").click()


def client_works_on_a_worksheet(j: Journey) -> None:
    """Start the trigger log; the draft is kept (saved as typed, and with the button) when the
    client leaves and comes back; a missing answer is pointed out; then it is sent."""
    page = j.client
    page.get_by_role("link", name="Start Trigger log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trigger log")
    j.check(page, "worksheet")
    moment = page.get_by_role("group", name="Moment 1")
    moment.get_by_label("Date").fill(dt.date.today().isoformat())
    moment.get_by_label("What happened").fill("My partner went quiet after a phone call.")
    moment.get_by_label("Who was involved").fill("J.")
    # The draft saves itself a few seconds after the typing stops; leaving loses nothing.
    expect(page.get_by_role("status").filter(has_text="Saved a moment ago")).to_be_visible()
    follow_main_link(page, "This week")
    page.get_by_role("link", name="Carry on Trigger log").click()
    moment = page.get_by_role("group", name="Moment 1")
    expect(moment.get_by_label("What happened")).to_have_value(
        "My partner went quiet after a phone call."
    )
    # And with the button, for anyone who wants to be sure.
    moment.get_by_label("What I felt").fill("anxious")
    moment.get_by_label("How strong the feeling was").fill("70")
    moment.get_by_label("What it reminded me of").fill("When my ex went cold before leaving.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    follow_main_link(page, "This week")
    page.get_by_role("link", name="Carry on Trigger log").click()
    moment = page.get_by_role("group", name="Moment 1")
    expect(moment.get_by_label("How strong the feeling was")).to_have_value("70")
    expect(moment.get_by_label("Who was involved")).to_have_value("J.")

    page.get_by_role("button", name="Send to my therapist").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(
        "Moment 1: What the facts today actually show · Please answer this before you submit."
    )
    facts = page.get_by_role("group", name="Moment 1").get_by_label("What the facts today")
    expect(facts).to_have_attribute("aria-invalid", "true")
    error_id = facts.get_attribute("aria-describedby").split()[-1]
    expect(page.locator(f"#{error_id}")).to_contain_text("Error:")
    expect(page.get_by_role("group", name="Moment 1").get_by_label("What I felt")).to_have_value(
        "anxious"
    )
    j.check(page, "worksheet-errors")
    facts.fill("The call was from the garage about the car. It was not about me.")
    page.get_by_role("button", name="Send to my therapist").click()
    expect(page.get_by_role("status").filter(has_text="with your therapist now")).to_be_visible()
    j.check(page, "worksheet-sent")


def therapist_sees_it_on_the_dashboard(j: Journey) -> None:
    page = j.therapist
    follow_main_link(page, "Caseload")
    alerts = page.get_by_role("region", name=re.compile("Open alerts"))
    expect(alerts).to_contain_text("Self-harm item answered")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Sam Rivers"))
    expect(row).to_contain_text("1 to review")
    expect(row.get_by_role("cell").first).to_have_text("2/12")
    j.check(page, "caseload")
    # On paper: the table and its alerts, without the site's header, filters or buttons.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".filters")).to_be_hidden()
    expect(row).to_be_visible()
    print_for_review(page, j, "printed-caseload.pdf")
    page.emulate_media(media="screen")


def print_for_review(page: Any, j: Journey, name: str) -> None:
    """Keep the page as printed, for people to look at, when screenshots are kept
    (CLINIC_E2E_SCREENSHOTS=always). Only then: Chromium's print-to-PDF can leave a later test's
    page without keyboard focus."""
    if os.environ.get("CLINIC_E2E_SCREENSHOTS") == "always":
        page.pdf(path=str(j.browsing.shots / name))


def alert_in_first_screen(page: Any, width: int, height: int) -> None:
    """The open alert, with its button, is on the first screen of the record without
    scrolling, at this window size."""
    page.set_viewport_size({"width": width, "height": height})
    page.reload()
    band = page.locator(".band-alerts")
    expect(band).to_contain_text("Self-harm item answered")
    button = band.get_by_role("link", name=re.compile("^Acknowledge"))
    box = button.bounding_box()
    assert box is not None and box["y"] + box["height"] <= height, (width, height, box)
    assert page.evaluate("() => window.scrollY") == 0


def therapist_reviews_and_rates(j: Journey) -> None:
    page = j.therapist
    page.get_by_role("link", name="Sam Rivers", exact=True).click()
    # The record leads with the clinical picture: the alert on the first screen at both sizes.
    for width, height in ((1280, 800), (375, 812)):
        alert_in_first_screen(page, width, height)
    page.set_viewport_size({"width": 1280, "height": 800})
    band = page.get_by_role("region", name="At a glance")
    expect(band.locator(".score-chip")).to_contain_text("PHQ-9")
    expect(band).to_contain_text("Trigger log")  # to review
    # last week is folded; this week is open; the folded summary says what waits inside
    expect(page.locator("#week-1 > details")).not_to_have_attribute("open", "")
    expect(page.locator("#week-2 > details")).to_have_attribute("open", "")
    j.check(page, "client-record")
    # On paper: the print stylesheet keeps the clinical picture and drops the site's furniture.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".band-alerts")).to_be_visible()
    expect(page.locator("#reports")).to_be_hidden()
    print_for_review(page, j, "printed-record.pdf")
    page.emulate_media(media="screen")
    # The worksheet the client sent, as a PDF with their answers
    from pypdf import PdfReader

    with page.expect_download() as waiting:
        page.locator("#week-2").get_by_role("link", name=re.compile("^Print Trigger log")).click()
    path = j.browsing.shots / waiting.value.suggested_filename
    waiting.value.save_as(path)
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(path).pages)
    assert "Trigger log" in text and "Sam Rivers" in text
    assert "The call was from the garage about the car." in text
    week2 = page.locator("#week-2")
    week2.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trigger log")
    expect(page.get_by_text("The call was from the garage about the car.")).to_be_visible()
    j.check(page, "review")
    page.get_by_role("button", name="Save review").click()  # nothing chosen yet
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name=re.compile("^How much was done")).click()
    done = page.get_by_role("group", name="How much was done")
    expect(done).to_be_focused()
    expect(done).to_have_accessible_description(re.compile("Choose how much of the homework"))
    expect(done.get_by_label("None")).to_have_attribute("aria-invalid", "true")
    j.check(page, "review-errors")
    page.get_by_role("group", name="How much was done").get_by_label("All").check()
    page.get_by_role("group", name="Quality of the work").get_by_label("3").check()
    page.get_by_label("Feedback for your client").fill(
        "You caught the echo and checked the facts. That is exactly the skill."
    )
    page.get_by_role("button", name="Save review").click()
    expect(page.locator("#week-2")).to_contain_text("Reviewed")


def therapist_acknowledges_the_alert(j: Journey) -> None:
    page = j.therapist
    page.get_by_role("link", name="Acknowledge Self-harm item answered alert").click()
    j.check(page, "alert")
    page.get_by_role("button", name="Acknowledge alert").click()  # without a note first
    expect(page.get_by_role("alert")).to_contain_text("Write what you did or decided.")
    j.check(page, "alert-errors")
    # The structured answers a careful service records, by their visible labels.
    page.get_by_label("Risk assessed").check()
    page.get_by_label("Safety plan reviewed").check()
    page.get_by_label("Phoned").check()
    page.get_by_label("Date of the contact (or the attempt)").fill(dt.date.today().isoformat())
    page.get_by_label("What you did or decided").fill("Phoned Sam; safety plan reviewed.")
    page.get_by_role("button", name="Acknowledge alert").click()
    expect(page.get_by_role("link", name=re.compile("Acknowledge Self-harm"))).to_have_count(0)


def therapist_writes_and_signs_a_note(j: Journey) -> None:
    page = j.therapist
    page.get_by_role("button", name="Start today's note").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Session note · Sam Rivers")
    draft = page.url
    # A second click reopens the same draft, never a second one.
    page.get_by_role("link", name="Sam Rivers").first.click()
    page.get_by_role("button", name="Open today's draft note").click()
    assert page.url == draft
    expect(page.get_by_role("status").filter(has_text="open again")).to_be_visible()
    # Beside the editor: the week to quote from, inserted with one click where one was typing.
    sources = page.get_by_role("complementary", name="This week, to quote from")
    expect(sources).to_contain_text("PHQ-9")
    expect(sources).to_contain_text("Trigger log")
    assessment = page.get_by_label("Assessment")
    assessment.click()
    sources.get_by_role("button", name=re.compile(r"^Insert\W+PHQ-9")).click()
    expect(assessment).to_have_value(re.compile(r"^PHQ-9 \d+ \(\w+\) on .*first score$"))
    expect(page.locator("[data-insert-status]")).to_have_text("Inserted into Assessment.")
    # The fields grow with the text (no scrolling inside a three-line box).
    before = assessment.bounding_box()["height"]
    assessment.fill("\n".join(f"Line {i} of what was said." for i in range(20)))
    assert assessment.bounding_box()["height"] > before + 100
    j.check(page, "note-draft")
    page.get_by_label("Duration (minutes)").fill("50")
    page.get_by_role("group", name="Attendance").get_by_label("Attended").check()
    page.get_by_role("group", name="Format").get_by_label("In person").check()
    page.get_by_label("Assessment").fill("Engaged; mistrust eased when the facts were checked.")
    page.get_by_label("Plan", exact=True).fill("Continue the trigger log; review safety plan.")
    questions: list[str] = []

    def accept(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Save and sign").click()
    expect(page.get_by_text("Signed", exact=True)).to_be_visible()
    assert questions and questions[0].startswith("Sign this note?")
    j.check(page, "note-signed")


def therapist_downloads_the_session_summary(j: Journey) -> None:
    """The signed note's session summary arrives as a PDF that names the client and session."""
    from pypdf import PdfReader

    page = j.therapist
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download session summary (PDF)").click()
    download = waiting.value
    assert download.suggested_filename.endswith(".pdf")
    path = j.browsing.shots.parent / download.suggested_filename
    download.save_as(path)
    text = "\n".join(p.extract_text() for p in PdfReader(path).pages)
    assert "Sam Rivers" in text
    assert "Continue the trigger log; review safety plan." in text


def client_reads_the_feedback(j: Journey) -> None:
    page = j.client
    follow_main_link(page, "What I have sent")
    j.check(page, "client-history")
    page.get_by_role("link", name=re.compile("Week 2: Trigger log")).click()
    feedback = page.get_by_role("region", name="Your therapist's feedback")
    expect(feedback).to_contain_text("That is exactly the skill.")
    j.check(page, "client-feedback")
    follow_main_link(page, "My progress")
    trust = page.locator("#measure-checkin-trust")
    expect(trust.get_by_role("heading")).to_have_text("My trust rating, week by week")
    expect(page.locator("#measure-phq9").get_by_role("heading")).to_have_text("Mood check (PHQ-9)")
    # Chart text at least 12 px on the phone (what the person sees, after scaling)
    page.set_viewport_size({"width": 375, "height": 812})
    smallest = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('svg.chart text')].map(
            (t) => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a))"""
    )
    assert smallest >= 12, smallest
    page.set_viewport_size(PHONE)
    j.check(page, "client-progress")
    # Help is one click away on every client page, outside the menu at every width.
    page.get_by_role("link", name="Need help now?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Need help now?")
    j.check(page, "client-help")
    follow_main_link(page, "My progress")
    from pypdf import PdfReader

    with page.expect_download() as waiting:
        page.get_by_role("link", name="My progress report (PDF)").click()
    path = j.browsing.shots.parent / waiting.value.suggested_filename
    waiting.value.save_as(path)
    text = "\n".join(p.extract_text() for p in PdfReader(path).pages)
    assert "My progress report" in text and "Sam Rivers" in text


def everyone_visits_the_other_pages(j: Journey) -> None:
    """The pages the journey above passes by, each checked by axe: settings, audit log and
    handover for the admin; notes, homework and in-session forms for the therapist; the
    access log and password pages for the client; a used link and a page that is not there."""
    admin, therapist, client = j.admin, j.therapist, j.client
    follow_main_link(admin, "Audit log")
    expect(admin.get_by_role("table")).to_contain_text("Theo Okafor")
    j.check(admin, "admin-audit-log")
    follow_main_link(admin, "Email")
    j.check(admin, "admin-email")
    follow_main_link(admin, "People")
    admin.get_by_role("link", name="Hand over clients of Theo Okafor").click()
    expect(admin.get_by_label("Client")).to_contain_text("Sam Rivers")
    j.check(admin, "admin-transfer")

    follow_main_link(therapist, "Caseload")
    therapist.get_by_role("link", name="Sam Rivers", exact=True).click()
    therapist.get_by_role("link", name="All notes").click()
    expect(therapist.get_by_role("table")).to_contain_text("Signed")
    j.check(therapist, "notes-list")
    therapist.get_by_role("link", name="Sam Rivers").click()
    therapist.get_by_role("link", name="Add homework to week 3").click()
    j.check(therapist, "add-homework")
    therapist.get_by_role("link", name="Cancel").click()
    therapist.get_by_role("link", name="Read the whole screen").click()
    expect(therapist.get_by_role("main")).to_contain_text("Checks partner's phone when anxious")
    j.check(therapist, "screen")
    therapist.get_by_role("link", name="Sam Rivers").click()
    therapist.get_by_role("link", name="Finish plan").click()
    j.check(therapist, "finish-plan")
    therapist.get_by_role("button", name="Finish the plan").click()  # nothing chosen yet
    expect(therapist.locator("#error-summary")).to_contain_text("Choose why the plan is finishing")
    j.check(therapist, "finish-plan-errors")
    therapist.get_by_role("link", name="Cancel").click()
    therapist.get_by_role("link", name="GAD-7").click()
    expect(therapist.get_by_role("heading", level=1)).to_have_text("GAD-7 with Sam Rivers")
    j.check(therapist, "in-session-questionnaire")
    therapist.get_by_role("link", name="Account").click()
    j.check(therapist, "account")
    therapist.get_by_role("link", name="Change password").click()
    j.check(therapist, "change-password")  # or first "confirm it's you", whichever is asked

    # Paper for the client too: a blank copy of the homework to write on.
    follow_main_link(client, "What I have sent")
    client.get_by_role("link", name=re.compile("Week 2: Trigger log")).click()
    with client.expect_download() as waiting:
        client.get_by_role("link", name="Print a blank copy (PDF)").click()
    assert waiting.value.suggested_filename.endswith("-blank.pdf")
    waiting.value.save_as(j.browsing.shots / "printed-worksheet-blank.pdf")

    follow_main_link(client, "Who has seen my record")
    expect(client.get_by_role("main")).to_contain_text("Theo Okafor")
    j.check(client, "client-access-log")
    follow_main_link(client, "Settings")
    j.check(client, "client-settings")
    client.goto("/me/homework/999999")
    expect(client.get_by_role("heading", level=1)).to_have_text("Page not found")
    j.check(client, "not-found")

    follow_main_link(admin, "Clients")
    expect(admin.get_by_role("table")).to_contain_text("Sam Rivers")
    j.check(admin, "admin-clients")

    stranger = j.browsing.person("stranger", PHONE)
    stranger.goto("/sign-in")
    stranger.get_by_role("link", name="Forgotten your password?").click()
    expect(stranger.get_by_role("main")).to_contain_text("Ask your therapist")
    j.check(stranger, "forgotten-password")
    stranger.goto(j.client_link)  # already used
    expect(stranger.get_by_role("link", name="Go to sign in")).to_be_visible()
    j.check(stranger, "used-invitation")


def therapist_works_through_not_on_track(j: Journey) -> None:
    """Issue #20: a PHQ-9 given in session that is 7 points above the baseline (a reliable
    deterioration) puts the client "Not on track": a neutral card on the record, apart from
    the alerts, said under the chart; the checklist refuses a missing answer next to the
    field with the typing kept, then is saved."""
    page = j.therapist
    follow_main_link(page, "Caseload")
    page.get_by_role("link", name="Sam Rivers", exact=True).click()
    page.get_by_role("link", name="PHQ-9", exact=True).click()
    groups = page.get_by_role("group")
    for n in range(1, 10):
        item = groups.filter(has=page.locator("legend", has_text=re.compile(rf"^{n}\.")))
        item.get_by_label("More than half the days" if n <= 5 else "Not at all").check()
    page.get_by_role("button", name="Record answers").click()
    card = page.locator("#on-track")
    expect(card).to_contain_text("Not on track · PHQ-9")
    expect(card).to_contain_text("Not a risk alert")
    # Below caseness at the start there is no fall to expect (no band), but a rise of 6 or
    # more is a reliable deterioration, said under the chart too.
    expect(page.locator("#measure-phq9 figcaption")).to_contain_text("a reliable deterioration")
    j.check(page, "client-record-not-on-track")
    card.get_by_role("link", name=re.compile("Open the clinical-support checklist")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Not on track · PHQ-9")
    j.check(page, "not-on-track-checklist")
    page.get_by_role("group", name="Working relationship").get_by_label(
        "Asked: there is a strain to talk through or repair"
    ).check()
    page.get_by_label("Note on working relationship (optional)").fill("Felt rushed last week")
    page.get_by_role("button", name="Save the checklist").click()
    expect(page.locator("#error-summary")).to_contain_text("Motivation and homework")
    expect(page.get_by_label("Note on working relationship (optional)")).to_have_value(
        "Felt rushed last week"
    )
    j.check(page, "not-on-track-checklist-errors")
    for group, choice in (
        ("Motivation and homework", "Engaged, and the homework is mostly done"),
        ("Social support and life events", "A life event or stress is weighing on them"),
        ("Risk", "Reviewed: no new risk"),
        ("Diagnosis and fit of the plan", "Fits: keep going"),
    ):
        page.get_by_role("group", name=group).get_by_label(choice).check()
    page.get_by_role("button", name="Save the checklist").click()
    expect(page.get_by_role("status")).to_contain_text("Checklist saved")
    expect(page.locator("#on-track")).to_contain_text("Checklist reviewed")


def schedules_reports_and_retention(j: Journey) -> None:
    """Issue #20: the therapist changes a questionnaire's schedule for the client (a mistyped
    week is refused next to the field, the typing kept); the therapist and the admin read the
    outcome report (counts only); the admin opens the records past the retention period."""
    therapist, admin = j.therapist, j.admin
    follow_main_link(therapist, "Caseload")
    therapist.get_by_role("link", name="Sam Rivers", exact=True).click()
    therapist.get_by_role("link", name="Questionnaire schedule").click()
    j.check(therapist, "measure-schedule")
    section = therapist.locator("#m-wsas")
    section.get_by_label("In the weeks I choose").check()
    section.get_by_label("Weeks of the plan").fill("1, 6, fourteen")
    section.get_by_role("button", name="Save WSAS's schedule").click()
    expect(therapist.locator("#error-summary")).to_contain_text("whole numbers from 1 to 12")
    section = therapist.locator("#m-wsas")
    expect(section.get_by_label("Weeks of the plan")).to_have_value("1, 6, fourteen")
    j.check(therapist, "measure-schedule-errors")
    section.get_by_label("Weeks of the plan").fill("1, 4, 8, 12")
    section.get_by_role("button", name="Save WSAS's schedule").click()
    expect(therapist.get_by_role("table")).to_contain_text("Weeks 1, 4, 8, 12")
    follow_main_link(therapist, "Outcomes")
    expect(therapist.get_by_role("heading", level=1)).to_contain_text("your own caseload")
    j.check(therapist, "caseload-outcomes")
    follow_main_link(admin, "Outcomes")
    expect(admin.get_by_role("main")).not_to_contain_text("Sam Rivers")
    j.check(admin, "admin-outcomes")
    follow_main_link(admin, "Clients")
    admin.get_by_role("link", name="Records past the retention period").click()
    expect(admin.get_by_role("main")).to_contain_text("No retention period is set")
    j.check(admin, "admin-retention")


def admin_exports_and_erases_the_record(j: Journey) -> None:
    """At the end of care: the admin asks for the erasure, the therapist downloads the whole
    record (the admin never reads it), then the admin erases it."""
    admin = j.admin
    follow_main_link(admin, "Clients")
    admin.get_by_role("link", name="Erase the record of Sam Rivers").click()
    j.check(admin, "admin-erase")
    admin.get_by_role("button", name="Ask for the erasure").click()
    expect(admin.get_by_role("main")).to_contain_text("Waiting for the download")
    therapist = j.therapist
    follow_main_link(therapist, "Caseload")
    therapist.get_by_role("link", name="Sam Rivers", exact=True).click()
    expect(therapist.locator("#erasure-asked")).to_be_visible()
    with therapist.expect_download() as waiting:
        therapist.locator("#erasure-asked").get_by_role(
            "link", name="Download the record (ZIP)"
        ).click()
    assert waiting.value.suggested_filename.endswith("-record.zip")
    admin.reload()
    expect(admin.get_by_role("status").filter(has_text="Downloaded")).to_contain_text("Theo Okafor")
    admin.get_by_label("Why the record is erased").fill("Care ended; the client asked for erasure.")
    admin.get_by_label("Type the client's name to confirm").fill("Sam Rivers")
    admin.get_by_role("button", name="Erase the record").click()
    expect(admin.get_by_role("main")).to_contain_text("Care ended; the client asked for erasure.")
    expect(admin.get_by_role("table")).not_to_contain_text("Sam Rivers")
    j.check(admin, "admin-clients-after-erasure")


# In order; add a step where a feature lands.
JOURNEY: list[Callable[[Journey], None]] = [
    admin_adds_therapist,
    therapist_accepts_invitation,
    therapist_adds_client_and_copies_invitation,
    client_accepts_on_a_phone,
    client_checks_in_with_the_keyboard,
    client_writes_a_goal,
    client_answers_phq9,
    client_works_on_a_worksheet,
    therapist_sees_it_on_the_dashboard,
    therapist_reviews_and_rates,
    therapist_rates_the_goal_in_session,
    therapist_acknowledges_the_alert,
    therapist_writes_and_signs_a_note,
    therapist_downloads_the_session_summary,
    client_reads_the_feedback,
    everyone_visits_the_other_pages,
    therapist_works_through_not_on_track,
    schedules_reports_and_retention,
    admin_exports_and_erases_the_record,
]


def test_a_week_of_work_from_invitation_to_signed_note(browsing: Browsing) -> None:
    journey = Journey(browsing)
    for step in JOURNEY:
        step(journey)
