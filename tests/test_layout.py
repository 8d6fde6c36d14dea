"""The frame every page shares: a way past the header, the main links (a row on wide screens,
a Menu on phones) with the current page marked, and no inline script or style anywhere."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from clinic.models import Role

PAGES = {
    Role.CLIENT: ("/me/", "This week"),
    Role.THERAPIST: ("/therapist/", "Caseload"),
    Role.ADMIN: ("/admin/", "People"),
}


@pytest.mark.parametrize("role", list(PAGES))
def test_the_main_links_mark_the_current_page_in_the_row_and_in_the_menu(
    client, make_user, sign_in, role
):
    sign_in(make_user(role))
    url, label = PAGES[role]
    page = BeautifulSoup(client.get(url).data, "html.parser")
    navs = page.select('nav[aria-label="Main"]')
    assert len(navs) == 2  # the row for wide screens, and inside the phone's Menu
    assert page.select_one("details.menu > summary").get_text(strip=True) == "Menu"
    for nav in navs:
        current = nav.select('a[aria-current="page"]')
        assert [a.get_text(strip=True) for a in current] == [label]
    assert page.select_one("a.skip-link")["href"] == "#main"
    assert page.select_one("main#main")
    # Both sign-out buttons post with their token; sign-out is never a link.
    forms = page.select('form[action="/sign-out"]')
    assert len(forms) == 2 and all(f.select_one('input[name="csrf_token"]') for f in forms)


def test_signed_out_pages_have_no_menu(client):
    page = BeautifulSoup(client.get("/sign-in").data, "html.parser")
    assert page.select_one("details.menu") is None
    assert page.select_one('nav[aria-label="Main"]') is None


@pytest.mark.parametrize("role", list(PAGES))
def test_no_inline_script_or_style_which_the_content_security_policy_would_refuse(
    client, make_user, sign_in, role
):
    sign_in(make_user(role))
    page = BeautifulSoup(client.get(PAGES[role][0]).data, "html.parser")
    assert all(script.get("src") for script in page.find_all("script"))
    assert not page.find_all("style")
    assert not page.find_all(style=True)


def test_every_client_page_offers_help_now_and_it_shows_the_practice_contacts(
    client, db, make_user, sign_in, practice
):
    practice.crisis_contacts = "Out-of-hours line 0100 000 000"
    practice.abuse_helplines = "Domestic abuse helpline 0800 000 000 (free, 24 hours)"
    db.commit()
    sign_in(make_user(Role.CLIENT))
    for url in ("/me/", "/me/history", "/me/progress", "/me/settings", "/account"):
        page = BeautifulSoup(client.get(url).data, "html.parser")
        link = page.select_one("header a.help-now")
        assert link is not None and link["href"] == "/me/help", url
        assert link.get_text(strip=True) == "Need help now?"
    text = BeautifulSoup(client.get("/me/help").data, "html.parser").get_text(" ", strip=True)
    assert "Out-of-hours line 0100 000 000" in text
    assert "Domestic abuse helpline 0800 000 000 (free, 24 hours)" in text
    assert "not watched around the clock" in text and "within 24 hours" in text


def test_staff_pages_have_no_client_help_link(client, make_user, sign_in):
    sign_in(make_user(Role.THERAPIST))
    assert (
        BeautifulSoup(client.get("/therapist/").data, "html.parser").select_one("a.help-now")
        is None
    )
