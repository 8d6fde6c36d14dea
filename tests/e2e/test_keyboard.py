"""Keyboard only, on a phone-sized window: the tab order runs through the header into the form,
a mistake is announced and summarised at the top, and the Menu leads on after signing in."""

from __future__ import annotations

import re

from .conftest import PHONE, Browsing
from .test_journeys import expect


def test_signing_in_and_finding_the_way_with_the_keyboard_alone(browsing: Browsing) -> None:
    site = browsing.site
    page = browsing.person("admin on a phone", PHONE)
    page.goto("/sign-in")
    keys = page.keyboard

    keys.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    keys.press("Tab")
    expect(page.get_by_role("link", name="Bedrock")).to_be_focused()
    keys.press("Tab")
    expect(page.get_by_label("Email address")).to_be_focused()
    keys.type(site.admin_email)
    keys.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    keys.type("not the password at all")
    keys.press("Enter")

    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Email or password is incorrect.")
    expect(page.get_by_label("Email address")).to_have_value(site.admin_email)  # kept
    browsing.check(page, "sign-in-mistake")

    keys.press("Tab")  # from the summary straight back into the form
    expect(page.get_by_label("Email address")).to_be_focused()
    keys.press("Tab")
    keys.type(site.admin_password)
    keys.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^People at "))

    # Tab to the Menu, open it, and go to the settings, all without a pointer.
    keys.press("Tab")  # skip link
    keys.press("Tab")  # brand
    keys.press("Tab")
    menu = page.locator("summary", has_text="Menu")
    expect(menu).to_be_focused()
    keys.press("Enter")
    nav = page.get_by_role("navigation", name="Main")
    for name in ("People", "Clients", "Outcomes", "Add a therapist", "Settings"):
        keys.press("Tab")
        expect(nav.get_by_role("link", name=name)).to_be_focused()
    keys.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Settings for "))
