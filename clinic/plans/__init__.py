"""The 12-week plan: start, schedule, tailor, pause; homework drafts, submission and review.

Domain functions take the session explicitly, flush but never commit, and raise PlanError (or a
subclass) for anything a person should be told about.

definitions  the plan's errors, and the program and worksheet definitions a plan uses
schedule     weeks, session dates, due dates, and how homework stands
tailoring    starting a plan and changing it: homework added, moved, removed; pause, resume
fitting      measures that fit the client: battery measures left out, the WSAS "[problem]" words
screening    the suitability and safety screen a plan needs first, and the weeks it changes
homework     a client's answers: drafts, conflicts, sending, correcting, the therapist's review"""

from . import screening
from .definitions import (
    WEEKS,
    DraftTooLong,
    InvalidAnswers,
    Locked,
    PlanError,
    SaveConflict,
    StaleChange,
    program_of,
    worksheet,
)
from .fitting import (
    ALWAYS_GIVEN,
    DEFAULT_PROBLEM,
    PROBLEM_MAX,
    fit_measures,
    left_out,
    optional_measures,
    problem_words,
)
from .homework import (
    AnswersOutcome,
    act_on_answers,
    keep_set_aside,
    review,
    save_draft,
    set_aside,
    submit,
)
from .schedule import (
    CLIENT_STATE_WORDS,
    THERAPIST_STATE_WORDS,
    Position,
    default_due,
    first_session_on,
    homework_state,
    homework_state_on,
    position,
    session_date,
    week_in_sql,
)
from .tailoring import (
    DISCHARGE_REASONS,
    Discharge,
    add_assignment,
    assign_once,
    find_assignment,
    finish_plan,
    latest_plan,
    open_plan,
    pause_plan,
    preload_homework,
    remove_assignment,
    restore_assignment,
    resume_plan,
    sent_homework,
    start_plan,
    update_assignment,
)

__all__ = [
    "ALWAYS_GIVEN",
    "CLIENT_STATE_WORDS",
    "DEFAULT_PROBLEM",
    "DISCHARGE_REASONS",
    "PROBLEM_MAX",
    "THERAPIST_STATE_WORDS",
    "WEEKS",
    "AnswersOutcome",
    "Discharge",
    "DraftTooLong",
    "InvalidAnswers",
    "Locked",
    "PlanError",
    "Position",
    "SaveConflict",
    "StaleChange",
    "act_on_answers",
    "add_assignment",
    "assign_once",
    "default_due",
    "find_assignment",
    "finish_plan",
    "first_session_on",
    "fit_measures",
    "homework_state",
    "homework_state_on",
    "keep_set_aside",
    "latest_plan",
    "left_out",
    "open_plan",
    "optional_measures",
    "pause_plan",
    "position",
    "preload_homework",
    "problem_words",
    "program_of",
    "remove_assignment",
    "restore_assignment",
    "resume_plan",
    "review",
    "save_draft",
    "screening",
    "sent_homework",
    "session_date",
    "set_aside",
    "start_plan",
    "submit",
    "update_assignment",
    "week_in_sql",
    "worksheet",
]
