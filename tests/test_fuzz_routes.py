"""Every route of the app, walked with generated URL, query and form values (Hypothesis), signed
in as the person the route is for: whatever is sent, the answer is never a server error.

The values are what malformed or hostile requests carry: ids of 0, negative, 2^31, 2^63 and
10^30, versions that cannot be one, far and impossible dates, worksheet actions no button
sends, and text with control characters (NUL included, which PostgreSQL refuses in text).
Each route starts from the world of tests/test_access.py as built (restored from its
snapshot); a bounded, derandomized number of examples per route keeps the walk quick and
the same on every run."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.web import IdConverter

from .conftest import signed_in_client

# The world of the access matrix, built once for this module too (its fixtures, imported).
from .test_access import OVERRIDES, ROUTES, _rules, fresh_world, world  # noqa: F401

TODAY = dt.date.today().isoformat()

NUMBERS = st.one_of(
    st.sampled_from(
        ["0", "-1", "1", "2", str(2**31 - 1), str(2**31), str(2**63 - 1), str(2**63), str(10**30)]
    ),
    st.integers(min_value=-(10**6), max_value=10**40).map(str),
)
VERSIONS = st.one_of(NUMBERS, st.sampled_from(["", "abc", "1e3", "٣", " 1", "1\x00"]))
DATES = st.one_of(
    st.sampled_from(
        ["9999-12-31", "0001-01-01", "1899-12-31", "2101-01-01", "2026-02-30", "", "today"]
    ),
    st.dates().map(dt.date.isoformat),
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=12),
    st.sampled_from(["\x00", "a\x00b", "line\r\nline\ttab", "x" * 5000, "<script>", "' OR 1=1"]),
)
ACTIONS = st.one_of(
    st.sampled_from(
        [
            "save",
            "submit",
            "sign",
            "add:entries",
            "remove:entries:0",
            "add:nope",
            "remove:nope:0",
            "remove:entries:" + "9" * 30,
            "add:situation",
        ]
    ),
    TEXT,
)
# A form that would pass on most pages, so that generated values reach the rules behind the
# form checks; Hypothesis replaces some of these and adds others.
BASE_FORM = {
    "version": "1",
    "action": "save",
    "start": TODAY,
    "session_weekday": "0",
    "worksheet": "thought_record",
    "week": "2",
    "due_on": "",
    "instruction": "Try it.",
    "display_name": "Sam",
    "email": "",
    "session_date": TODAY,
    "duration_minutes": "50",
    "attendance": "attended",
    "format": "video",
    "data": "Notes",
    "on_date": TODAY,
    "text": "Moved house",
    "completion": "all",
    "quality": "3",
    "feedback": "Well done",
    "trust": "5",
    "distress": "5",
    "note": "A note",
    "keep": "mine",
    "entries-0-situation": "A talk",
    "entries-0-date": TODAY,
    "code": "gad7",
}
FORM_VALUES = {
    "version": VERSIONS,
    "action": ACTIONS,
    "start": DATES,
    "due_on": DATES,
    "session_date": DATES,
    "on_date": DATES,
    "contacted_on": DATES,
    "entries-0-date": DATES,
    "week": NUMBERS,
    "quality": NUMBERS,
    "duration_minutes": NUMBERS,
    "session_weekday": NUMBERS,
    "trust": NUMBERS,
    "item-1": NUMBERS,
    "reminder_window_days": NUMBERS,
}
TEXT_FIELDS = [
    "display_name",
    "email",
    "instruction",
    "text",
    "note",
    "data",
    "assessment",
    "feedback",
    "reason",
    "next_step",
    "entries-0-situation",
    "crisis_contacts",
    "reminder_days",
    "confirm_name",
    "password",
    "code",
    "keep",
    "replacing",
    "next",
]
FORMS = st.dictionaries(
    st.sampled_from([*FORM_VALUES, *TEXT_FIELDS]), st.just(None), max_size=5
).flatmap(lambda keys: st.fixed_dictionaries({k: FORM_VALUES.get(k, TEXT) for k in keys}))
QUERY_KEYS = [
    "next",
    "week",
    "date",
    "from",
    "to",
    "user",
    "before",
    "since",
    "until",
    "action",
    "outcome",
    "filter",
    "sort",
    "problem",
]
QUERIES = st.dictionaries(st.sampled_from(QUERY_KEYS), st.one_of(NUMBERS, DATES, TEXT), max_size=3)

PERSONA_FOR = {None: "anonymous", "any": "client", "staff": "therapist"}
# Downloads build whole PDFs and ZIPs: fewer examples keep the walk quick.
SLOW = re.compile(r"(_pdf|bundle|_csv|fhir|erase_export|audit_export)$")
EXAMPLES, SLOW_EXAMPLES = 8, 3
ARGUMENT = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")
CASES = [(endpoint, method) for endpoint, method, _ in _rules()]


def _persona(endpoint: str) -> str:
    role = ROUTES[endpoint].role
    return PERSONA_FOR.get(role, role or "anonymous")


def _argument_values(rule, values, endpoint: str):  # type: ignore[no-untyped-def]
    """A strategy for each argument of the rule: the real value of the world, or junk."""
    real = {arg: values.get(arg) for arg in rule.arguments}
    for arg, value in OVERRIDES.get(endpoint, {}).items():
        real[arg] = values[value] if isinstance(value, str) and value in values else value
    strategies = {}
    for converter, options, name in ARGUMENT.findall(rule.rule):
        if isinstance(rule._converters[name], IdConverter):
            junk = NUMBERS
        elif converter == "any":
            junk = st.one_of(st.sampled_from([o.strip() for o in options.split(",")]), TEXT)
        else:
            junk = TEXT
        strategies[name] = st.one_of(st.just(str(real[name])), junk)
    return st.fixed_dictionaries(strategies)


def _url(rule, arguments: dict[str, str], query: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    path = ARGUMENT.sub(lambda m: quote(arguments[m.group(3)], safe=""), rule.rule)
    return f"{path}?{urlencode(query)}" if query else path


@pytest.mark.parametrize(("endpoint", "method"), CASES)
def test_no_input_gives_a_server_error(module_app, request, endpoint, method):
    people, values = request.getfixturevalue("fresh_world")  # test_access's world, restored
    persona = _persona(endpoint)
    browser = (
        module_app.test_client()
        if persona == "anonymous"
        else signed_in_client(module_app, people[persona])
    )
    rule = next(r for e, m, r in _rules() if e == endpoint and m == method)

    @settings(
        max_examples=SLOW_EXAMPLES if SLOW.search(endpoint) else EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        arguments=_argument_values(rule, values, endpoint),
        query=QUERIES,
        form=FORMS,
    )
    def walk(arguments, query, form):  # type: ignore[no-untyped-def]
        url = _url(rule, arguments, query)
        data = BASE_FORM | form if method == "POST" else None
        response = browser.open(url, method=method, data=data)
        response.close()
        assert response.status_code < 500, (method, url, data, response.status_code)

    walk()
