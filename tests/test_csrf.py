"""CSRFProtect guards every state-changing request."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from clinic.models import Role

from .conftest import PASSWORD


@pytest.fixture
def csrf_app(app):  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_post_without_token_is_refused_and_changes_nothing(csrf_app, make_user):
    user = make_user(Role.THERAPIST)
    client = csrf_app.test_client()
    response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert client.get("/therapist/").status_code == 302  # not signed in


def test_post_with_the_pages_token_works(csrf_app, make_user):
    user = make_user(Role.THERAPIST)
    client = csrf_app.test_client()
    page = BeautifulSoup(client.get("/sign-in").data, "html.parser")
    token = page.find("input", {"name": "csrf_token"})["value"]
    response = client.post(
        "/sign-in", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    # Sign-out (a POST) without a token is refused too: no cross-site forced sign-out.
    assert client.post("/sign-out").status_code == 400
    assert client.get("/therapist/").status_code == 200
