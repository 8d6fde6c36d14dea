"""Reports: the session-summary PDF and the progress-report PDF. Each is gathered first (a plain
data object, as of its date) and then drawn with ReportLab; tests read the data and the PDF text.

common           what both read and draw: header, homework, scores, alerts, the title block
session_summary  one session: homework since the last one, scores, alerts, the note, next week
progress_report  the whole plan or chosen dates: summary page, charts, tables, appendix
practice         the practice outcome report: counts only, small cells suppressed (PDF, CSV)
note_sources     beside a draft note: the week's material to quote, as of the session date
worksheet_pdf    a worksheet on paper, blank (room to write by hand) or with the answers"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .common import (
        ATTENDANCE_WORDS,
        CONFIDENTIAL,
        FORMAT_WORDS,
        NOTE_HEADINGS,
        AlertLine,
        Header,
        HomeworkItem,
        ScoreLine,
        administrations_in,
    )
    from .practice import (
        PracticeReport,
        gather_practice_report,
        practice_report_pdf,
        practice_today,
    )
    from .progress_report import (
        HomeworkWeek,
        MeasureBlock,
        ProgressReport,
        StatisticNote,
        gather_progress_report,
        progress_report_pdf,
        statistics_notes,
    )
    from .session_summary import (
        NoteBlock,
        SessionSummary,
        gather_session_summary,
        session_summary_pdf,
    )

__all__ = [
    "ATTENDANCE_WORDS",
    "CONFIDENTIAL",
    "FORMAT_WORDS",
    "NOTE_HEADINGS",
    "AlertLine",
    "Header",
    "HomeworkItem",
    "HomeworkWeek",
    "MeasureBlock",
    "NoteBlock",
    "PracticeReport",
    "ProgressReport",
    "ScoreLine",
    "SessionSummary",
    "StatisticNote",
    "administrations_in",
    "gather_practice_report",
    "gather_progress_report",
    "gather_session_summary",
    "practice_report_pdf",
    "practice_today",
    "progress_report_pdf",
    "session_summary_pdf",
    "statistics_notes",
]

# Where each name lives. The modules (and ReportLab with them) load when a name is first used,
# not when the package is imported: importing the app stays quick, and gunicorn's master loads
# them once before forking (clinic.warm).
_HOME = {
    **dict.fromkeys(
        (
            "ATTENDANCE_WORDS",
            "CONFIDENTIAL",
            "FORMAT_WORDS",
            "NOTE_HEADINGS",
            "AlertLine",
            "Header",
            "HomeworkItem",
            "ScoreLine",
            "administrations_in",
        ),
        "common",
    ),
    **dict.fromkeys(
        (
            "HomeworkWeek",
            "MeasureBlock",
            "ProgressReport",
            "StatisticNote",
            "gather_progress_report",
            "progress_report_pdf",
            "statistics_notes",
        ),
        "progress_report",
    ),
    **dict.fromkeys(
        ("PracticeReport", "gather_practice_report", "practice_report_pdf", "practice_today"),
        "practice",
    ),
    **dict.fromkeys(
        ("NoteBlock", "SessionSummary", "gather_session_summary", "session_summary_pdf"),
        "session_summary",
    ),
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value
