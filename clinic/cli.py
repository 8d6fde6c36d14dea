"""Command-line tools: database migrations, the first admin, and the demo practice."""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import accounts, audit, crypto, keycheck, mail, resource_dir, schema
from . import db as database
from .db import private_file
from .models import Practice, Role, User

if TYPE_CHECKING:
    from collections.abc import Callable

    from alembic.config import Config

F = TypeVar("F", bound="Callable[..., Any]")

db_cli = AppGroup("db", help="Create and migrate the database schema (Alembic).")


def migrations() -> ModuleType:
    """Alembic's commands, imported when a command needs them: web workers never load
    Alembic (and its template engine), which keeps each worker smaller."""
    from alembic import command

    return command


def alembic_config() -> Config:
    """Alembic configuration pointing at migrations/ and at the app's database."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resource_dir("migrations")))
    # The URL is read by migrations/env.py from the app config; % is escaped for configparser.
    cfg.set_main_option("sqlalchemy.url", current_app.config["DATABASE_URL"].replace("%", "%%"))
    return cfg


def needs_schema(command: F) -> F:
    """Run the command only on a database whose schema is the newest one: on an empty or older
    database it says to run `db upgrade` (instead of a traceback from the first query)."""

    @functools.wraps(command)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            found = schema.state(database.engine())
        except sa.exc.DBAPIError as error:
            reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error)
            raise click.ClickException(f"Cannot reach the database: {reason}") from None
        if not found.at_head:
            raise click.ClickException(schema.UPGRADE_HINT)
        return command(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def run_migrations(direction: str, revision: str) -> None:
    """Upgrade or downgrade, printing each migration as it runs (or that none was needed)."""
    ran: list[str] = []

    def report(*, step: Any, **_: Any) -> None:
        if not step.is_migration:
            return
        arrow = "->" if step.is_upgrade else "<-"
        source = ", ".join(step.source_revision_ids) or "empty"
        target = ", ".join(step.destination_revision_ids) or "empty"
        doc = (step.up_revision.doc or "").strip().splitlines()
        ran.append(target)
        click.echo(f"Ran {source} {arrow} {target}" + (f": {doc[0]}" if doc else ""))

    cfg = alembic_config()
    cfg.attributes["on_version_apply"] = report
    getattr(migrations(), direction)(cfg, revision)
    if not ran:
        click.echo(
            "Already at the newest schema; nothing to run."
            if direction == "upgrade" and revision == "head"
            else f"Already at {revision}; nothing to run."
        )


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the schema (to the newest revision by default)."""
    run_migrations("upgrade", revision)
    check_keys()


def check_keys() -> None:
    """Write the key-check row (a database that had none: new, or older than 0015) or check
    this process's keys against it."""
    engine = database.engine()
    try:
        done = keycheck.verify(current_app, engine)
    except keycheck.KeyMismatch as error:
        raise click.ClickException(str(error)) from None
    finally:
        engine.dispose()  # a command's connections are not kept open after it
    if done == "recorded":
        click.echo("Recorded which secret and encryption keys this database is used with.")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Downgrade the schema by one revision, or to REVISION ('base' empties it)."""
    run_migrations("downgrade", revision)


@db_cli.command("current")
def db_current() -> None:
    """Show the schema's current revision."""
    migrations().current(alembic_config(), verbose=True)


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--autogenerate/--empty", default=True, help="Compare the models with the schema.")
def db_revision(message: str, autogenerate: bool) -> None:
    """Write a new migration script (for developers)."""
    migrations().revision(alembic_config(), message=message, autogenerate=autogenerate)


@click.command("create-admin")
@with_appcontext
@needs_schema
@click.option("--email", required=True, help="The admin's sign-in address.")
@click.option("--name", default="Practice admin", show_default=True, help="Display name.")
@click.option(
    "--practice",
    "practice_name",
    default="My practice",
    show_default=True,
    help="Name of the practice, used if none exists yet.",
)
@click.option(
    "--prompt-password", is_flag=True, help="Type the password instead of having one generated."
)
def create_admin(email: str, name: str, practice_name: str, prompt_password: bool) -> None:
    """Create a practice admin (and the practice itself if there is none yet)."""
    db = database.session()
    if prompt_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        problem = accounts.password_problem(password)
        if problem:
            raise click.ClickException(problem)
    else:
        password = accounts.generate_password()
    practice = db.scalar(
        sa.select(Practice).where(Practice.is_demo.is_(False)).order_by(Practice.id).limit(1)
    )
    if practice is None:
        practice = Practice(name=practice_name)
        db.add(practice)
    try:
        admin = accounts.create_user(db, practice, Role.ADMIN, name, email, password)
    except accounts.AccountError as error:
        raise click.ClickException(error.message) from None
    db.commit()
    click.echo(f"Created admin {admin.email} for practice '{practice.name}'.")
    if not prompt_password:
        click.echo(f"Password: {password}")
        click.echo("Keep it somewhere safe; it is not shown again.")


@click.command("demo")
@with_appcontext
@click.option(
    "--url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Where the app will be reached, for the printed links.",
)
@click.option(
    "--password", default=None, help="Password for every demo account (default: a new random one)."
)
def demo(url: str, password: str | None) -> None:
    """Build (or rebuild) the demo practice and print how to sign in."""
    from .demo import build_demo

    run_migrations("upgrade", "head")  # the demo builds its own schema, so it needs no guard
    db = database.session()
    if password is not None and (problem := accounts.password_problem(password)):
        raise click.ClickException(problem)
    details = build_demo(db, password or accounts.generate_password())
    db.commit()
    click.echo(f"Demo practice '{details.practice}' is ready. Sign in at {url}/sign-in")
    click.echo(f"All demo accounts use the password: {details.password}")
    for role, label, email in details.accounts:
        click.echo(f"  {role:<10} {label:<28} {email}")
    for name, token in details.pending_invitations:
        click.echo(f"  Invitation for {name} (not yet accepted): {url}/invitation/{token}")


@click.command("export-reports")
@click.option("--therapist", "email", required=True, help="The therapist's sign-in address.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write into (made if missing).",
)
@with_appcontext
@needs_schema
def export_reports(email: str, out: Path) -> None:
    """Write every active client's progress report and CSV files into a folder, for
    end-of-month paperwork or an archive."""
    from . import audit, exports, reports
    from .timeutil import local_today

    db = database.session()
    therapist = db.scalar(
        sa.select(User).where(
            User.email == email.strip().lower(), User.role == Role.THERAPIST.value
        )
    )
    if therapist is None:
        raise click.ClickException(f"No therapist signs in as {email}.")
    clients = [c for c in accounts.clients_in_care(db, therapist) if c.active]
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)  # health information: only the owner may read the folder
    today = local_today(therapist)
    written = 0
    index: list[list[object]] = []
    with click.progressbar(clients, label="Writing reports", show_pos=True) as bar:
        for client in bar:
            stem = out / f"bedrock-client-{client.id}"
            data = reports.gather_progress_report(db, client, today)
            files = {
                f"{stem}-progress-{today:%Y-%m-%d}.pdf": reports.progress_report_pdf(data),
                f"{stem}-questionnaires.csv": exports.csv_text(
                    *exports.questionnaire_table(db, [client])
                ).encode(),
                f"{stem}-homework.csv": exports.csv_text(
                    exports.HOMEWORK_HEADER, exports.homework_rows(db, [client])
                ).encode(),
                f"{stem}-check-ins.csv": exports.csv_text(
                    exports.CHECK_IN_HEADER, exports.check_in_rows(db, [client])
                ).encode(),
            }
            for name, content in files.items():
                _write_private(Path(name), content)
                written += 1
            index.append([client.id, client.display_name, *(Path(n).name for n in files)])
            audit.record("export", "progress_report", subject_id=client.id, user=therapist)
    # Which file is whose: the files are named by client number only.
    header = ["client_id", "client", "progress_report", "questionnaires", "homework", "check_ins"]
    _write_private(out / "index.csv", exports.csv_text(header, index).encode())
    db.commit()
    click.echo(f"Wrote {written} files for {len(clients)} client(s) into {out}, and index.csv.")


def _write_private(path: Path, content: bytes) -> None:
    """Write a file that holds health information: the owner's alone (0600) from the start."""
    private_file(path)
    with path.open("r+b") as fh:
        fh.truncate()
        fh.write(content)


@click.command("send-notifications")
@with_appcontext
@needs_schema
@click.option(
    "--now",
    "at",
    default=None,
    hidden=True,
    help="Pretend it is this moment (ISO 8601 with a time zone); for tests and demos.",
)
def send_notifications(at: str | None) -> None:
    """Plan and send due reminders, digests, alerts and invitations by email. Safe to run
    every few minutes from cron or a systemd timer, and twice at once. Exits with status 1
    when any message failed or waits for a retry, or the mail server could not be used."""
    from . import mail, notifications

    if not mail.configured():
        click.echo("Email is not set up (CLINIC_SMTP_HOST and CLINIC_SMTP_SENDER); nothing sent.")
        return
    try:
        mail.base_url()
        now = dt.datetime.fromisoformat(at) if at else None
        if now is not None and now.tzinfo is None:
            raise click.BadParameter(
                "give a time zone, e.g. 2026-03-03T09:00+00:00", param_hint="--now"
            )
        outcome = notifications.run(database.session(), now)
    except mail.MailError as error:
        raise click.ClickException(str(error)) from None
    click.echo(outcome.summary())
    if not outcome.ok:
        # For cron's mail and systemd's "failed" state: some email did not go out. Counts
        # only; who it was for is on the admin's Email page.
        raise SystemExit(1)


@click.command("reset-link")
@with_appcontext
@needs_schema
@click.argument("email")
def reset_link(email: str) -> None:
    """Print a one-time password reset link for an active account (for practices without
    email, where nobody may be shown a colleague's link in the app). Audited."""
    db = database.session()
    person = db.scalar(sa.select(User).where(User.email == accounts.normalise_email(email)))
    if person is None or not person.active:
        raise click.ClickException("No active account has that email address.")
    issued = accounts.issue_invitation(db, person, None)
    subject = person.id if person.role == Role.CLIENT.value else None
    audit.record(
        "issue_link", "account", person.id, subject_id=subject, practice_id=person.practice_id
    )
    db.commit()
    click.echo(f"Password reset link for {person.email} (works once, for 7 days):")
    try:
        click.echo(mail.link("auth.accept_invitation", token=issued.token))
    except mail.MailError:  # no BASE_URL: the path, to put after the app's own address
        click.echo(f"/invitation/{issued.token}  (after the address of this Bedrock)")
    click.echo("Give it to the person yourself; it is not shown again.")


def init_app(app: Flask) -> None:
    """Register the commands with `flask --app clinic`."""
    app.cli.add_command(export_reports)
    app.cli.add_command(db_cli)
    app.cli.add_command(create_admin)
    app.cli.add_command(reset_link)
    app.cli.add_command(demo)
    app.cli.add_command(send_notifications)
    app.cli.add_command(encryption_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(doctor)
    app.cli.add_command(change_secret)


COLOURS = {"ok": "green", "fail": "red", "skip": "bright_black"}


@click.command("doctor")
@click.option(
    "--skip",
    multiple=True,
    type=click.Choice(["email", "backup-tool"]),
    help="Leave a check out (repeatable): the web unit's start check skips both, so that a "
    "mail server that is down does not keep the web app from starting.",
)
@with_appcontext
def doctor(skip: tuple[str, ...]) -> None:
    """Check that this deployment is ready to serve: database, schema, keys, email, Redis,
    HTTPS settings, backup tool, instance folder. Exits 1 if anything is red."""
    from . import preflight

    rows = preflight.run_all(
        current_app.config,
        Path(current_app.instance_path),
        database.engine(),
        skip=frozenset(skip),
    )
    width = max(len(row.name) for row in rows)
    for row in rows:
        label = click.style(f"{row.status.upper():<4}", fg=COLOURS[row.status], bold=True)
        click.echo(f"{label}  {row.name:<{width}}  {row.detail}")
    failed = [row for row in rows if row.status == preflight.FAIL]
    if failed:
        click.echo(f"{len(failed)} problem(s) to fix before serving.")
        raise SystemExit(1)
    click.echo("Ready to serve.")


encryption_cli = AppGroup("encryption", help="Keys for the encrypted clinical text.")


@encryption_cli.command("new-key")
@click.option(
    "--write",
    is_flag=True,
    help="Put the new key first in instance/encryption_keys (keeping the old ones).",
)
def encryption_new_key(write: bool) -> None:
    """Make a new key. Put it first in the key list, then run `encryption reencrypt`."""
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    if not write:
        click.echo(key)
        return
    if current_app.config.get("ENCRYPTION_KEYS"):
        raise click.ClickException(
            "Keys come from CLINIC_ENCRYPTION_KEYS: add the new key at its front yourself."
        )
    path = Path(current_app.instance_path) / "encryption_keys"
    old = path.read_text(encoding="ascii").strip()
    # The database learns the key before any process can write with it.
    keycheck.register_keys(database.engine(), [key.encode()])
    tmp = path.with_suffix(".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n" + old + "\n")
    os.replace(tmp, path)
    crypto.use_keys(crypto.parse_keys(key + "\n" + old))
    check_keys()
    click.echo(f"Added a new first key to {path}. Now run: flask --app clinic encryption reencrypt")


@encryption_cli.command("reencrypt")
@click.option(
    "--batch",
    type=click.IntRange(1, 100_000),
    default=500,
    show_default=True,
    help="Rows per transaction: each batch is committed, so the app keeps running meanwhile.",
)
@needs_schema
def encryption_reencrypt(batch: int) -> None:
    """Re-encrypt every stored clinical value with the first (newest) key.

    Batches of rows, each committed on its own, with progress per table. Values already
    written with the first key are left alone, so a run that was stopped (or failed) resumes
    where it was when started again; the older keys are marked as no longer needed only when
    a run finished with nothing left behind."""

    def progress(table: str, done: int, total: int, changed: int) -> None:
        click.echo(f"{table}: {done} of {total} row(s) checked, {changed} value(s) re-encrypted")

    count = reencrypt_all(database.engine(), batch=batch, progress=progress)
    keycheck.only_first_writes(database.engine())
    click.echo(f"Re-encrypted {count} value(s) with the newest key.")


def reencrypt_all(
    engine: sa.Engine,
    *,
    batch: int = 500,
    progress: Callable[[str, int, int, int], None] | None = None,
) -> int:
    """Rotate every encrypted column of every table to the newest key, `batch` rows per
    committed transaction, in primary-key order; returns how many values were re-encrypted.
    A value the first key already reads is skipped: that is what makes a second run resume."""
    from .db import Base, ClinicalJSON, ClinicalText

    count = 0
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, ClinicalText | ClinicalJSON)]
        if not columns:
            continue
        pk = table.primary_key.columns.values()[0]
        with engine.connect() as conn:
            total = conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0
        done = changed = 0
        last = None
        while True:
            with engine.begin() as conn:
                raw = sa.select(pk, *[sa.cast(c, sa.Text).label(c.name) for c in columns])
                if last is not None:
                    raw = raw.where(pk > last)
                rows = conn.execute(raw.order_by(pk).limit(batch)).mappings().all()
                if not rows:
                    break
                for row in rows:
                    values = {
                        c.name: crypto.rotate(row[c.name])
                        for c in columns
                        if row[c.name] and not crypto.written_with_first_key(row[c.name])
                    }
                    if values:
                        literal = {table.c[n]: sa.literal(v, sa.Text) for n, v in values.items()}
                        conn.execute(sa.update(table).where(pk == row[pk.name]).values(literal))
                        changed += len(values)
                last = rows[-1][pk.name]
                done += len(rows)
            if progress is not None:
                progress(table.name, done, total, changed)
        count += changed
    return count


@click.command("change-secret")
@click.option(
    "--new-secret-env",
    metavar="NAME",
    required=True,
    help="Name of an environment variable holding the new secret key.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@needs_schema
def change_secret(new_secret_env: str, yes: bool) -> None:
    """Replace SECRET_KEY on purpose (after a leak, say). Run it with the current secret
    configured: the database then accepts only the new one, so every host and the timer must
    be given it. Everyone is signed out and emailed links stop working."""
    new = os.environ.get(new_secret_env, "")
    if not new:
        raise click.ClickException(
            f"The environment variable {new_secret_env} is empty or not set."
        )
    if len(new) < 32:
        raise click.ClickException(
            "The new secret key is shorter than 32 characters; make one with: "
            "python3 -c 'import secrets; print(secrets.token_hex(32))'"
        )
    if new == current_app.config["SECRET_KEY"]:
        raise click.ClickException("That is the secret key already in use; nothing changed.")
    if not yes:
        click.confirm(
            "Every signed-in person will be signed out and every emailed link (invitation, "
            "reset, unsubscribe) will stop working. Hosts still on the old secret will refuse "
            "to start. Go on?",
            abort=True,
        )
    keycheck.change_secret(database.engine(), new)
    # Each practice's audit trail shows when everyone was signed out, and why.
    for practice_id in database.session().scalars(sa.select(Practice.id)):
        audit.record("change", "secret_key", practice_id=practice_id, anonymous=True)
    click.echo(
        "The database now expects the new secret key. Put it in CLINIC_SECRET_KEY (or "
        "instance/secret_key) on every host and for the timer, then restart them."
    )


PASSPHRASE_HELP = (
    "Name of an environment variable holding a passphrase: the backup is encrypted with it "
    "(AES-256-GCM, scrypt), for copies that leave the server."
)


def _passphrase(env_name: str | None) -> str | None:
    if env_name is None:
        return None
    value = os.environ.get(env_name, "")
    if not value:
        raise click.ClickException(f"The environment variable {env_name} is empty or not set.")
    return value


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--passphrase-env", metavar="NAME", default=None, help=PASSPHRASE_HELP)
@with_appcontext
@needs_schema
def backup_command(target: Path, passphrase_env: str | None) -> None:
    """Write a consistent backup of the live database to TARGET (safe while the app runs)."""
    from .backup import BackupError, backup, seal

    passphrase = _passphrase(passphrase_env)
    try:
        backup(current_app.config["DATABASE_URL"], target)
        if passphrase is not None:
            seal(target, passphrase)
    except BackupError as error:
        target.unlink(missing_ok=True)
        raise click.ClickException(str(error)) from None
    click.echo(f"Backup written to {target}{' (encrypted)' if passphrase else ''}.")
    click.echo("The encryption keys are not in it: keep instance/encryption_keys safe separately.")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--passphrase-env", metavar="NAME", default=None, help="For an encrypted backup.")
@with_appcontext
def restore_command(source: Path, yes: bool, passphrase_env: str | None) -> None:
    """Replace the database with the backup SOURCE (stop the app's workers first)."""
    import tempfile

    from .backup import BackupError, is_sealed, restore, unseal

    if not yes:
        click.confirm(
            "This replaces everything in the database with the backup. Go on?", abort=True
        )
    database.engine().dispose()
    with tempfile.TemporaryDirectory() as folder:
        try:
            if is_sealed(source):
                passphrase = _passphrase(passphrase_env)
                if passphrase is None:
                    raise BackupError("This backup is encrypted: give --passphrase-env NAME.")
                plain = Path(folder) / "backup"
                unseal(source, passphrase, plain)
                source_plain = plain
            else:
                source_plain = source
            restore(current_app.config["DATABASE_URL"], source_plain)
        except BackupError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Restored from {source}.")
