"""The production recipe in deploy/, run for real: Debian's nginx with deploy/nginx/bedrock.conf
(TLS with a self-signed certificate) in front of two independent gunicorn instances started
with deploy/gunicorn.conf.py, each with its own instance folder holding copies of the same
keys, over one PostgreSQL database and one Redis, with the settings in one environment file
read the way the README and the systemd units read it.

This is CI's own step (`pytest tests/deploy`, see .ci/run), not part of the README's test
command: it needs nginx, PostgreSQL and Redis on this host. Without them it is skipped with a
NOTICE, except when CLINIC_DEPLOY_REQUIRED=1 (CI), where a missing piece fails it."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

import clinic
from tests.conftest import self_signed_certificate

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
PG_SERVER = os.environ.get("CLINIC_DEPLOY_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
DATABASE = "bedrock_deploy_test"
REDIS_URL = os.environ.get("CLINIC_DEPLOY_REDIS", "redis://127.0.0.1:6379/4")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ADMIN = "deploy.admin@practice.example"
# Three clients of the practice, each reaching nginx from its own address.
HOME, CAFE, OFFICE = "127.0.0.2", "127.0.0.3", "127.0.0.4"


def _missing() -> str | None:
    if not os.access(NGINX, os.X_OK):
        return "nginx is not installed (apt-get install nginx)"
    for name, port in (("PostgreSQL", 5432), ("Redis", 6379)):
        with socket.socket() as s:
            s.settimeout(2)
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return f"{name} does not listen on 127.0.0.1:{port}"
    if not (BIN / "gunicorn").exists():
        return "gunicorn is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module", autouse=True)
def _needs_the_pieces() -> None:
    why = _missing()
    if why:
        if os.environ.get("CLINIC_DEPLOY_REQUIRED") == "1":
            pytest.fail(f"The deployment test cannot run: {why}.")
        pytest.skip(f"NOTICE: the deployment test is skipped: {why}.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_file(path: Path, settings: dict[str, str]) -> None:
    """The README's format: NAME='value', one per line, comments on lines of their own."""
    lines = ["# written by tests/deploy/test_stack.py"]
    lines += [f"{name}='{value}'" for name, value in settings.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o640)


def with_env(env: Path, *command: str | Path) -> list[str]:
    """Run a command with the environment file loaded as the README says:
    `set -a; . /etc/bedrock/bedrock.env; set +a`."""
    return ["bash", "-c", f'set -a; . "{env}"; set +a; exec "$@"', "bash", *map(str, command)]


def clean_environment() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    return {k: v for k, v in os.environ.items() if k in keep}


def unit_command(unit: str, key: str) -> list[str]:
    """A command line from a unit in deploy/systemd, with the paths of the README's install
    (/opt/bedrock/bin, /opt/bedrock/deploy) pointed at this checkout's."""
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith(f"{key}="))
    line = line.split("=", 1)[1].replace("/opt/bedrock/bin/", f"{BIN}/")
    return line.replace("/opt/bedrock/deploy/", f"{DEPLOY}/").split()


def flask(env: Path, instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = clean_environment() | {"CLINIC_INSTANCE_PATH": str(instance)}
    return subprocess.run(
        with_env(env, BIN / "flask", "--app", "clinic", *args),
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=instance,
    )


def wait_for(port: int, path: str = "/healthz", seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise AssertionError(f"nothing answered {path} on 127.0.0.1:{port}")


def nginx_config(prefix: Path, site: str) -> Path:
    """A main nginx.conf around the site, with every file nginx writes under `prefix`."""
    for folder in ("logs", "tmp"):
        (prefix / folder).mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""{user}worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "logs" / "error.log"} warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
{temp}
{site}
}}
""",
        encoding="utf-8",
    )
    return conf


def site_for(https: int, http_port: int, apps: list[int], cert: Path, key: Path, logs: Path) -> str:
    """deploy/nginx/bedrock.conf with only ports and paths replaced (each replacement must
    find its line, so the test follows the file as shipped)."""
    text = (DEPLOY / "nginx" / "bedrock.conf").read_text(encoding="utf-8")
    static = Path(clinic.__file__).parent / "static"
    upstreams = "\n    ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in apps)
    replacements = {
        "server 127.0.0.1:8000 max_fails=1 fail_timeout=10s;": upstreams,
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/ssl/bedrock/fullchain.pem": str(cert),
        "/etc/ssl/bedrock/privkey.pem": str(key),
        "/opt/bedrock/lib/python3.11/site-packages/clinic/static/": f"{static}/",
        "/var/log/nginx/bedrock.access.log": str(logs / "access.log"),
        "/var/log/nginx/bedrock.error.log": str(logs / "site-error.log"),
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx/bedrock.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def header(self, name: str) -> str:
        return self.headers.get(name) or ""


@dataclass
class Browser:
    """One person's browser: HTTPS to nginx from its own source address, with cookies."""

    port: int
    address: str
    context: ssl.SSLContext
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None, **headers: str):
        conn = http.client.HTTPSConnection(
            "localhost", self.port, context=self.context, source_address=(self.address, 0)
        )
        sent = {"Host": f"localhost:{self.port}", **headers}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = sent["Referer"] = f"https://localhost:{self.port}"
        conn.request(method, path, body=body, headers=sent)
        raw = conn.getresponse()
        response = Response(raw.status, raw.headers, raw.read().decode("utf-8", "replace"))
        conn.close()
        for cookie in raw.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response

    def get(self, path: str, **headers: str) -> Response:
        return self.request("GET", path, **headers)

    def submit(self, path: str, fields: dict[str, str], **headers: str) -> Response:
        """Fill in the form on `path` (with its CSRF token) and send it."""
        page = BeautifulSoup(self.get(path).body, "html.parser")
        token = page.find("input", attrs={"name": "csrf_token"})
        assert token is not None, f"no form with a CSRF token on {path}"
        return self.request("POST", path, {"csrf_token": str(token["value"]), **fields}, **headers)


@dataclass
class Stack:
    https: int
    http: int
    apps: list[int]
    logs: list[Path]
    env: Path
    instances: list[Path]
    database_url: str
    context: ssl.SSLContext
    password: str
    doctor: subprocess.CompletedProcess[str]
    nginx_log: Path

    def browser(self, address: str) -> Browser:
        return Browser(self.https, address, self.context)

    def served_by(self, request_id: str) -> list[int]:
        """Which gunicorn instances (0, 1) logged a request with this id (a log line can land
        a moment after the response: wait up to 5 s for one)."""
        deadline = time.monotonic() + 5
        while True:
            found = [i for i, log in enumerate(self.logs) if request_id in log.read_text("utf-8")]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def in_nginx_log(self, text: str) -> bool:
        """Whether nginx's access log has the text (nginx writes the line once the response
        has gone: wait up to 5 s)."""
        deadline = time.monotonic() + 5
        while text not in self.nginx_log.read_text("utf-8"):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("deploy")
    root.chmod(0o755)
    admin_engine = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DATABASE}"'))
    import redis

    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()

    https, http_port, apps = free_port(), free_port(), [free_port(), free_port()]
    cert, key = self_signed_certificate(root, "bedrock", ("localhost", "127.0.0.1"))
    database_url = f"{PG_SERVER}/{DATABASE}"
    env = root / "bedrock.env"
    env_file(
        env,
        {
            "CLINIC_DATABASE_URL": database_url,
            "CLINIC_SECRET_KEY": secrets.token_hex(32),
            "CLINIC_SESSION_COOKIE_SECURE": "true",
            "CLINIC_RATELIMIT_STORAGE_URL": REDIS_URL,
            "CLINIC_TRUSTED_PROXIES": "1",
            "CLINIC_LOG_FORMAT": "json",
            "CLINIC_BASE_URL": f"https://localhost:{https}",
        },
    )
    from cryptography.fernet import Fernet

    keys = Fernet.generate_key().decode() + "\n"
    instances = []
    for name in ("host-a", "host-b"):
        folder = root / name
        folder.mkdir(mode=0o700)
        (folder / "encryption_keys").write_text(keys, encoding="ascii")
        (folder / "encryption_keys").chmod(0o600)
        instances.append(folder)

    upgrade = flask(env, instances[0], "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Ran 0014_discreet_emails -> 0015_key_check" in upgrade.stdout
    assert "alembic" not in upgrade.stderr  # what ran is said once, not again as log lines
    # The README's full preflight, then the web unit's own (ExecStartPre), on the second host.
    doctor = flask(env, instances[1], "doctor")
    start_check = subprocess.run(
        with_env(env, *unit_command("bedrock-web.service", "ExecStartPre")),
        env=clean_environment() | {"CLINIC_INSTANCE_PATH": str(instances[1])},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert start_check.returncode == 0, start_check.stdout + start_check.stderr
    admin = flask(env, instances[0], "create-admin", "--email", ADMIN, "--practice", "Harbour")
    assert admin.returncode == 0, admin.stderr
    password = re.search(r"Password: (\S+)", admin.stdout)
    assert password, admin.stdout

    processes: list[subprocess.Popen[bytes]] = []
    logs = [root / f"gunicorn-{i}.log" for i in range(2)]
    try:
        for port, instance, log in zip(apps, instances, logs, strict=True):
            environment = clean_environment() | {
                "CLINIC_INSTANCE_PATH": str(instance),
                "BEDROCK_BIND": f"127.0.0.1:{port}",
                "BEDROCK_WORKERS": "2",
            }
            command = with_env(env, *unit_command("bedrock-web.service", "ExecStart"))
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        command,
                        env=environment,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        cwd=instance,
                        start_new_session=True,
                    )
                )
        for port in apps:
            wait_for(port)

        prefix = root / "nginx"
        prefix.mkdir()
        conf = nginx_config(prefix, site_for(https, http_port, apps, cert, key, prefix / "logs"))
        checked = subprocess.run(
            [NGINX, "-t", "-c", str(conf), "-p", str(prefix)], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr
        with (prefix / "logs" / "stderr.log").open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [NGINX, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"],
                    stdout=subprocess.DEVNULL,
                    stderr=out,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", https)) == 0:
                    break
            time.sleep(0.1)

        context = ssl.create_default_context(cafile=str(cert))
        yield Stack(
            https,
            http_port,
            apps,
            logs,
            env,
            instances,
            database_url,
            context,
            password[1],
            doctor,
            prefix / "logs" / "access.log",
        )
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
        admin_engine.dispose()


def sign_in(browser: Browser, password: str, **headers: str) -> Response:
    return browser.submit("/sign-in", {"email": ADMIN, "password": password}, **headers)


def test_doctor_is_green_on_the_second_host(stack: Stack) -> None:
    """The preflight, run with the environment file and the second host's instance folder."""
    assert stack.doctor.returncode == 0, stack.doctor.stdout + stack.doctor.stderr
    assert "Ready to serve." in stack.doctor.stdout
    rows = {line.split()[1]: line.split()[0] for line in stack.doctor.stdout.splitlines()[:-1]}
    assert "FAIL" not in rows.values()
    for row in ("Database", "Schema", "Encryption", "Secret", "Redis", "HTTPS", "Backup"):
        assert rows.get(row) == "OK", stack.doctor.stdout


def test_readyz_and_healthz_answer_through_the_proxy(stack: Stack) -> None:
    browser = stack.browser(HOME)
    ready = browser.get("/readyz")
    assert ready.status == 200
    assert json.loads(ready.body) == {"status": "ok", "database": "ok", "schema": "at head"}
    assert browser.get("/healthz").status == 200


def test_plain_http_is_sent_to_https(stack: Stack) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", stack.http)
    conn.request("GET", "/sign-in", headers={"Host": "localhost"})
    answer = conn.getresponse()
    conn.close()
    assert answer.status == 301
    assert answer.headers["Location"] == "https://localhost/sign-in"


def test_static_files_come_from_nginx(stack: Stack) -> None:
    browser = stack.browser(HOME)
    css = browser.get("/static/app.css")
    assert css.status == 200 and "text/css" in css.header("Content-Type")
    assert css.body == (Path(clinic.__file__).parent / "static" / "app.css").read_text("utf-8")
    assert "max-age=31536000" in css.header("Strict-Transport-Security")
    # No gunicorn instance saw it: nginx's access log has it, the app's logs have no line for it.
    assert stack.in_nginx_log("GET /static/app.css")
    assert all("/static/app.css" not in log.read_text("utf-8") for log in stack.logs)


def test_sign_in_on_one_instance_works_on_the_other(stack: Stack) -> None:
    browser = stack.browser(HOME)
    signed_in = sign_in(browser, stack.password)
    assert signed_in.status == 302, signed_in.body[:500]
    # The session cookie is host-only, Secure, and over HTTPS HSTS is on every page.
    cookie = next(c for c in signed_in.headers.get_all("Set-Cookie") if "session" in c)
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    assert "HttpOnly" in cookie
    assert "max-age=31536000" in signed_in.header("Strict-Transport-Security")
    target = signed_in.header("Location")
    assert target.startswith(("/", f"https://localhost:{stack.https}/"))
    path = urllib.parse.urlsplit(target).path
    # nginx takes turns between the instances: each serves the signed-in page. The request id
    # is nginx's own (a client cannot choose what goes into the logs), and the same id is on
    # the response, in nginx's access log and in the log of the instance that served it.
    seen: set[int] = set()
    for _ in range(8):
        page = browser.get(path, **{"X-Request-ID": "chosen-by-the-client"})
        assert page.status == 200, (page.status, page.header("Location"))
        assert "Sign out" in page.body
        request_id = page.header("X-Request-ID")
        assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
        assert stack.in_nginx_log(request_id)
        served = stack.served_by(request_id)
        assert len(served) == 1
        seen.update(served)
        if seen == {0, 1}:
            break
    assert seen == {0, 1}, "nginx did not use both gunicorn instances"


def test_the_audit_log_keeps_the_real_client_address(stack: Stack) -> None:
    browser = stack.browser(OFFICE)
    # A client's own X-Forwarded-For is not believed: nginx appends the address it saw.
    assert sign_in(browser, stack.password, **{"X-Forwarded-For": "6.6.6.6"}).status == 302
    engine = sa.create_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            address = conn.execute(
                sa.text("SELECT ip FROM audit_event WHERE action = 'sign_in' ORDER BY id DESC")
            ).scalar()
    finally:
        engine.dispose()
    assert address == OFFICE


def test_the_per_address_limit_is_shared_by_both_instances(stack: Stack) -> None:
    """20 sign-in attempts a minute per address (clinic/throttle.py SIGN_IN_LIMIT), counted in
    Redis: attempts from one address spread over both instances meet one limit; another
    address is not affected; a made-up X-Forwarded-For does not escape it."""
    guesser, bystander = stack.browser(CAFE), stack.browser(HOME)
    served: set[int] = set()
    statuses = []
    for i in range(20):
        if i % 2:
            # nginx takes turns; an odd request between form and post moves the post along.
            guesser.get("/healthz")
        answer = guesser.submit(
            "/sign-in",
            {"email": f"nobody{i}@practice.example", "password": "a wrong one"},
            **{"X-Forwarded-For": f"198.51.100.{i}"},
        )
        statuses.append(answer.status)
        served.update(stack.served_by(answer.header("X-Request-ID")))
    assert statuses == [422] * 20
    assert served == {0, 1}, "the attempts did not reach both instances"
    refused = guesser.submit("/sign-in", {"email": ADMIN, "password": stack.password})
    assert refused.status == 429
    assert "Too many attempts" in refused.body
    # Someone else at the practice still signs in.
    assert sign_in(bystander, stack.password).status == 302
    import redis

    assert redis.Redis.from_url(REDIS_URL).dbsize() > 0


def test_the_systemd_units_are_valid_and_share_one_environment_file(tmp_path: Path) -> None:
    units = sorted((DEPLOY / "systemd").iterdir())
    assert [u.name for u in units] == [
        "bedrock-email.service",
        "bedrock-email.timer",
        "bedrock-web.service",
    ]
    for unit in units:
        text = unit.read_text(encoding="utf-8")
        if unit.suffix == ".service":
            assert "EnvironmentFile=/etc/bedrock/bedrock.env" in text
            assert "User=bedrock" in text
        (tmp_path / unit.name).write_text(
            text.replace("/opt/bedrock/bin/", f"{BIN}/").replace(
                "/opt/bedrock/deploy/", f"{DEPLOY}/"
            ),
            encoding="utf-8",
        )
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("NOTICE: systemd-analyze is not installed; the units were not verified.")
    checked = subprocess.run(
        [analyze, "verify", *(str(tmp_path / u.name) for u in units)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", checked.stderr
