"""gunicorn settings for Bedrock in production.

Used by deploy/bedrock-web.service as `gunicorn -c /opt/bedrock/deploy/gunicorn.conf.py`.
Every value can be overridden on gunicorn's command line or with GUNICORN_CMD_ARGS; the
settings of the app itself come from the environment file (/etc/bedrock/bedrock.env).
"""

import os

wsgi_app = "clinic:create_app()"

# nginx talks to the app on this host only; several instances on one host use several ports.
bind = os.environ.get("BEDROCK_BIND", "127.0.0.1:8000")

# Two workers per core is plenty for a practice: a page costs a few milliseconds of CPU, and a
# sign-in's Argon2id hash (the slowest request) is about 50 ms.
workers = int(os.environ.get("BEDROCK_WORKERS", str(2 * (os.cpu_count() or 1))))
worker_class = "sync"

# Load the app once in the master, before the workers fork: they share its memory, and a
# broken setting (a wrong key, an unreachable Redis) stops the service before any worker starts.
preload_app = True

# A request that takes longer than this is stuck (the longest, a progress report, is well
# under a second); the worker is restarted. A worker is also replaced after this many requests,
# with jitter so that they do not all restart at once.
timeout = 30
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200

# Requests arrive through nginx, which already limits their size; these bound what reaches us.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# nginx on this host is the only proxy; the app reads X-Forwarded-* itself (ProxyFix with
# CLINIC_TRUSTED_PROXIES), so gunicorn need not.
forwarded_allow_ips = "127.0.0.1"

# Log to stderr (journald keeps it); the app writes its own access line with the request id,
# so gunicorn's access log stays off.
accesslog = None
errorlog = "-"
loglevel = "info"


def when_ready(server):
    """In the master, once, after the app is loaded and before any worker starts: load what
    the first chart or PDF would otherwise load in every worker (ReportLab, the embedded
    fonts), so that the workers share one copy."""
    import clinic

    clinic.warm()


def pre_fork(server, worker):
    """Before each fork: move everything loaded so far into the collector's permanent
    generation and collect the young generation seldom (clinic.settle_heap).

    The workers then never scan (and so never copy-on-write) the master's objects, and a page's
    garbage collections are few and only look at what the page made.
    """
    import clinic

    clinic.settle_heap()
