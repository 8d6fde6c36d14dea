"""Run in a separate process by tests/test_throttle.py: a gunicorn worker's share of a
guessing attack, with its own app object, its own limiter and its own memory."""

from __future__ import annotations

import os
from typing import Any


def guess(
    config: dict[str, Any], instance_path: str, name: str, tries: int, ip: str, start: Any, out: Any
) -> None:
    """Build an app, wait until every worker is ready, then post `tries` wrong sign-ins from
    `ip`; put (name, the limiter's storage class, status codes) or (name, the error) on
    `out`."""
    try:
        os.environ["CLINIC_INSTANCE_PATH"] = instance_path
        from clinic import create_app, throttle

        app = create_app(config)
        storage = type(throttle.limiter.storage).__name__
    except Exception as error:
        start.abort()
        out.put((name, f"{type(error).__name__}: {error}"))
        return
    try:
        start.wait(timeout=60)
        client = app.test_client()
        codes = [
            client.post(
                "/sign-in",
                data={"email": f"{name}{i}@example.org", "password": "wrong password here"},
                environ_base={"REMOTE_ADDR": ip},
            ).status_code
            for i in range(tries)
        ]
        out.put((name, storage, codes))
    except Exception as error:
        out.put((name, f"{type(error).__name__}: {error}"))
    finally:
        app.extensions["clinic.db"].kw["bind"].dispose()
