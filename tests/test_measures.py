"""The public scoring API, against published values and hand-worked edge cases at every
threshold. Sources: Kroenke, Spitzer & Williams 2001 (PHQ-9 bands); Spitzer et al. 2006
(GAD-7 bands); Mundt et al. 2002 (WSAS bands); Funk & Rogge 2007 (CSI-4 cut-off 13.5);
Jacobson & Truax 1991 (reliable change); the NHS Talking Therapies manual (caseness and
reliable change thresholds on PHQ-9 and GAD-7)."""

from __future__ import annotations

import math

import pytest

from clinic import measures
from clinic.measures import reliable_change, score, talking_therapies_outcome


def phq(total: int, item9: int = 0) -> list[int]:
    """Nine PHQ-9 answers with the given total (item 9 as given, the rest filled in order)."""
    item9 = max(item9, total - 24)  # items 1-8 hold 24 at most
    answers = [0] * 8 + [item9]
    rest = total - item9
    for i in range(8):
        answers[i] = min(3, rest)
        rest -= answers[i]
    assert rest == 0 and sum(answers) == total
    return answers


def spread(total: int, n: int, high: int) -> list[int]:
    answers = []
    for _ in range(n):
        answers.append(min(high, total))
        total -= answers[-1]
    assert total == 0
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_bands_kroenke_2001(total, band):
    result = score("phq9", phq(total))
    assert (result.total, result.band) == (total, band)
    assert result.flags == (frozenset({"item9"}) if total > 24 else frozenset())


def test_phq9_item9_flag_whatever_the_total():
    low = score("phq9", [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert (low.total, low.band) == (1, "minimal") and "item9" in low.flags
    high = score("phq9", phq(24, item9=3))
    assert "item9" in high.flags and high.band == "severe"
    assert "item9" not in score("phq9", [3] * 8 + [0]).flags


def test_answers_may_be_given_by_item_key():
    by_key = {str(i): 1 for i in range(1, 10)}
    assert score("phq9", by_key).total == 9


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_bands_spitzer_2006(total, band):
    result = score("gad7", spread(total, 7, 3))
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "subclinical"),
        (9, "subclinical"),
        (10, "significant impairment"),
        (20, "significant impairment"),
        (21, "moderately severe or worse"),
        (40, "moderately severe or worse"),
    ],
)
def test_wsas_bands_mundt_2002(total, band):
    result = score("wsas", spread(total, 5, 8))
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize(
    ("answers", "total", "distress"),
    [
        ([6, 5, 5, 5], 21, False),
        ([3, 4, 4, 3], 14, False),
        ([3, 4, 3, 3], 13, True),
        ([0, 0, 0, 0], 0, True),
    ],
)
def test_csi4_cut_off_13_5_funk_rogge_2007(answers, total, distress):
    result = score("csi4", answers)
    assert result.total == total
    assert (result.band == "relationship distress") is distress
    assert measures.instrument("csi4").in_clinical_range(total) is distress


def test_only_severe_bands_are_marked_severe():
    assert score("phq9", phq(20)).severe and not score("phq9", phq(19)).severe
    assert score("gad7", spread(15, 7, 3)).severe and not score("gad7", spread(14, 7, 3)).severe
    assert not score("wsas", [8] * 5).severe


@pytest.mark.parametrize(
    ("code", "answers", "message"),
    [
        ("phq10", [0] * 9, "Unknown questionnaire 'phq10'"),
        ("phq9", [0] * 8, "PHQ-9 has 9 questions; got 8 answers"),
        ("phq9", [0] * 10, "PHQ-9 has 9 questions; got 10 answers"),
        ("phq9", [0] * 8 + [4], "question 9: 4 is not an answer option (0 to 3)"),
        ("phq9", [0] * 8 + [-1], "question 9: -1 is not an answer option"),
        ("gad7", [0] * 6 + [1.5], "answers are whole numbers"),
        ("gad7", [0] * 6 + [True], "answers are whole numbers"),
        ("csi4", [7, 0, 0, 0], "question 1: 7 is not an answer option (0 to 6)"),
        ("csi4", [0, 6, 0, 0], "question 2: 6 is not an answer option (0 to 5)"),
        ("phq9", {"1": 0, "2": 1}, "missing question(s) 3, 4, 5, 6, 7, 8, 9"),
    ],
)
def test_invalid_input_raises_value_error_a_person_understands(code, answers, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        score(code, answers)


# --- reliable change ------------------------------------------------------------------------


def test_reliable_change_hand_worked():
    # S_diff = SD * sqrt(2) * sqrt(1 - r) = 5 * 1.41421 * 0.4 = 2.82843; RCI = -10 / 2.82843.
    rc = reliable_change(20, 10, sd=5, reliability=0.84, higher_is_better=False)
    assert math.isclose(rc.s_diff, 2.8284271247, rel_tol=1e-9)
    assert math.isclose(rc.rci, -3.5355339059, rel_tol=1e-9)
    assert rc.category == "reliable_improvement"
    assert reliable_change(20, 30, 5, 0.84, False).category == "reliable_deterioration"
    assert reliable_change(20, 30, 5, 0.84, True).category == "reliable_improvement"
    assert reliable_change(20, 10, 5, 0.84, True).category == "reliable_deterioration"


def test_reliable_change_criterion_is_strictly_above_1_96_on_the_unrounded_value():
    # SD 1 and reliability 0.5 make S_diff 1, so the RCI equals the raw change.
    assert math.isclose(reliable_change(0, 0, 1, 0.5, True).s_diff, 1.0)
    assert reliable_change(0, 1.96, 1, 0.5, True).category == "no_reliable_change"  # == 1.96
    assert reliable_change(0, 1.955, 1, 0.5, True).category == "no_reliable_change"  # ~1.96
    assert reliable_change(0, 1.9649, 1, 0.5, True).category == "reliable_improvement"
    assert reliable_change(0, -1.9649, 1, 0.5, True).category == "reliable_deterioration"
    assert reliable_change(0, -1.96, 1, 0.5, True).category == "no_reliable_change"
    # Rounded, 1.9649 reads 1.96 too; only the unrounded value decides.
    assert round(reliable_change(0, 1.9649, 1, 0.5, True).rci, 2) == 1.96


def test_reliable_change_with_each_instruments_own_parameters():
    for code in ("phq9", "gad7"):
        inst = measures.instrument(code)
        c = inst.change
        assert c.sd is not None
        s_diff = c.sd * math.sqrt(2) * math.sqrt(1 - c.reliability)
        needed = math.floor(1.96 * s_diff) + 1  # the smallest whole-point change that is reliable
        worse = -needed if inst.higher_is_better else needed
        mid = (inst.min_total + inst.max_total) // 2
        assert (
            reliable_change(mid, mid + worse, c.sd, c.reliability, inst.higher_is_better).category
            == "reliable_deterioration"
        )
        smaller = worse - (1 if worse > 0 else -1)
        assert (
            reliable_change(mid, mid + smaller, c.sd, c.reliability, inst.higher_is_better).category
            == "no_reliable_change"
        )
        assert c.sd_source and c.reliability_source and c.cutoff_source


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((10, 5, 0, 0.8, False), "standard deviation must be greater than 0"),
        ((10, 5, 5, 1.0, False), "Reliability must be from 0"),
        ((10, 5, 5, -0.1, False), "Reliability must be from 0"),
        (("10", 5, 5, 0.8, False), "pre must be a number"),
        ((10, float("nan"), 5, 0.8, False), "post must be a number"),
    ],
)
def test_reliable_change_rejects_nonsense(args, message):
    with pytest.raises(ValueError, match=message):
        reliable_change(*args)


def test_published_parameters_give_the_expected_reliable_change_thresholds():
    # PHQ-9: SD 4.8 (COBRA baseline, Richards et al. 2016) and alpha .89 (Kroenke et al. 2001):
    # 1.96 * 4.8 * sqrt(2) * sqrt(.11) = 4.41, so 5 points is reliable and 4 is not.
    phq9 = measures.instrument("phq9")
    assert math.isclose(
        1.96 * reliable_change(0, 0, phq9.change.sd, phq9.change.reliability, False).s_diff,
        4.4125,
        abs_tol=1e-3,
    )
    assert phq9.reliable_change(15, 10).category == "reliable_improvement"
    assert phq9.reliable_change(15, 11).category == "no_reliable_change"
    # GAD-7: SD 5.1 (COBRA) and alpha .92 (Spitzer et al. 2006): 1.96 * 5.1 * sqrt(2) * sqrt(.08)
    # = 3.998, so a 4-point change is reliable, the same amount NHS Talking Therapies uses.
    gad7 = measures.instrument("gad7")
    assert gad7.reliable_change(12, 8).category == "reliable_improvement"
    assert gad7.reliable_change(12, 9).category == "no_reliable_change"


def test_no_reliable_change_without_a_verified_sd():
    for code in ("wsas", "csi4"):
        inst = measures.instrument(code)
        assert not inst.has_reliable_change and inst.reliable_change(30, 5) is None
        assert measures.clinical_category(inst, 30, 5) is None
        assert "no reliable change index is computed" in inst.change.sd_source


def test_clinical_categories_jacobson_truax():
    phq9 = measures.instrument("phq9")
    assert measures.clinical_category(phq9, 20, 4) == "recovered"  # reliable and crosses 10
    assert measures.clinical_category(phq9, 27, 12) == "improved"  # reliable, still >= 10
    assert measures.clinical_category(phq9, 12, 11) == "unchanged"
    assert measures.clinical_category(phq9, 5, 20) == "deteriorated"


# --- NHS Talking Therapies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phq_pre", "gad_pre", "case"),
    [(10, 0, True), (9, 7, False), (9, 8, True), (0, 8, True), (27, 21, True), (0, 0, False)],
)
def test_caseness_at_the_start(phq_pre, gad_pre, case):
    assert talking_therapies_outcome(phq_pre, phq_pre, gad_pre, gad_pre).caseness_pre is case


@pytest.mark.parametrize(
    ("scores", "improved", "deteriorated"),
    [
        ((15, 9, 10, 10), True, False),  # PHQ-9 falls by exactly 6
        ((15, 10, 10, 10), False, False),  # falls by 5: not reliable
        ((15, 15, 12, 8), True, False),  # GAD-7 falls by exactly 4
        ((15, 15, 12, 9), False, False),  # falls by 3
        ((15, 9, 8, 12), False, False),  # PHQ-9 improves but GAD-7 rises by 4: neither
        ((5, 11, 5, 5), False, True),  # PHQ-9 rises by 6
        ((5, 5, 5, 9), False, True),  # GAD-7 rises by 4
        ((5, 10, 5, 8), False, False),  # rises by 5 and 3: not reliable
    ],
)
def test_reliable_improvement_and_deterioration_thresholds_are_inclusive(
    scores, improved, deteriorated
):
    outcome = talking_therapies_outcome(*scores)
    assert outcome.reliable_improvement is improved
    assert outcome.reliable_deterioration is deteriorated


def test_recovery_needs_caseness_at_the_start_and_both_scores_below_it_at_the_end():
    assert talking_therapies_outcome(16, 9, 12, 7).recovery is True
    assert talking_therapies_outcome(16, 9, 12, 7).reliable_recovery is True
    assert talking_therapies_outcome(16, 10, 12, 5).recovery is False  # PHQ-9 still 10
    assert talking_therapies_outcome(16, 4, 12, 8).recovery is False  # GAD-7 still 8
    # Recovered but by less than the reliable amount: recovery without reliable recovery.
    small = talking_therapies_outcome(10, 9, 8, 7)
    assert (small.recovery, small.reliable_improvement, small.reliable_recovery) == (
        True,
        False,
        False,
    )
    # Not a case at the start: recovery does not apply.
    not_case = talking_therapies_outcome(8, 2, 6, 1)
    assert not_case.caseness_pre is False and not_case.reliable_improvement is True
    assert not_case.recovery is None and not_case.reliable_recovery is None


@pytest.mark.parametrize(
    "bad", [(28, 0, 0, 0), (0, -1, 0, 0), (0, 0, 22, 0), (0, 0, 0, "3"), (0, 0, 0, 2.0)]
)
def test_talking_therapies_rejects_impossible_totals(bad):
    with pytest.raises(ValueError, match="whole-number total"):
        talking_therapies_outcome(*bad)
