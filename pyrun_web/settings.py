"""All settings, read from the environment (see docs/operators/configuration.md for the table).

Defaults give an embedded single-machine platform (SQLite, embedded Redis, local storage) under
``PYRUN_DATA_DIR``; ``PYRUN_ENV=production`` switches to safe defaults and demands real secrets.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from pyrun_web.infra.datadir import BASE_DIR, data_dir, persistent_secret

env = environ.Env()

DATA_DIR = data_dir()
PYRUN_ENV = env.str("PYRUN_ENV", default="development")
PRODUCTION = PYRUN_ENV == "production"


def _secret(name: str, generate=None) -> str:
    """A secret from the environment; outside production it is generated into the data dir once."""
    value = env.str(name, default="")
    if value:
        return value
    if PRODUCTION:
        raise ImproperlyConfigured(f"{name} must be set when PYRUN_ENV=production")
    return persistent_secret(name.lower(), generate) if generate else persistent_secret(name.lower())


SECRET_KEY = _secret("SECRET_KEY")
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotation: prepend a new key).
FIELD_ENCRYPTION_KEYS = [
    k.strip() for k in _secret("FIELD_ENCRYPTION_KEY", lambda: Fernet.generate_key().decode()).split(",") if k.strip()
]

DEBUG = env.bool("PYRUN_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("PYRUN_ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("PYRUN_ALLOWED_HOSTS must be set when PYRUN_ENV=production")
CSRF_TRUSTED_ORIGINS = env.list("PYRUN_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "pyrun_web.tenancy",
    "workspaces",
    "runtimes",
    "jobs",
    "monitoring",
    "templates_lib",
    "pipelines",
    "pyrun_web.audit",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "pyrun_web.urls"
WSGI_APPLICATION = "pyrun_web.wsgi.application"
ASGI_APPLICATION = "pyrun_web.asgi.application"
AUTH_USER_MODEL = "tenancy.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "pyrun_web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'pyrun.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for locks instead of failing, and use WAL. synchronous=NORMAL: in
    # WAL mode a commit no longer waits for an fsync (4 ms each here, and a run's start makes about ten); the
    # database stays consistent, and only a power loss or OS crash may undo the last commits.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file (not in-memory) test database, so a real Celery worker process can share it with the tests.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("PYRUN_DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, channel layer, cache -------------------------------------------------------------
EMBEDDED_REDIS_DIR = DATA_DIR / "redis"
EMBEDDED_REDIS_SOCKET = EMBEDDED_REDIS_DIR / "redis.sock"
REDIS_URL = env.str("REDIS_URL", default="") or f"unix://{EMBEDDED_REDIS_SOCKET}?db=0"
REDIS_IS_EMBEDDED = not env.str("REDIS_URL", default="")


def _kombu_url(url: str) -> str:
    """kombu spells a Unix-socket Redis as ``redis+socket://``; redis-py as ``unix://``."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = f"?{parts.query.replace('db=', 'virtual_host=')}" if parts.query else ""
        return f"redis+socket://{parts.path}{query}"
    return url


def _with_db(url: str, db: int) -> str:
    """The same Redis server, another logical database (keeps cache flushes away from the broker)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query), db=str(db))
        return f"unix://{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{db}"))


CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_kombu_url(REDIS_URL))
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=_kombu_url(REDIS_URL))
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A Redis restart must not kill running jobs (Celery 6 plans to flip this default); the job claim already
# makes a redelivered message harmless.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE = {
    "beat-heartbeat": {"task": "pyrun_web.heartbeat", "schedule": 15.0},
    "runtimes-reap": {"task": "runtimes.reap", "schedule": 60.0},
    "runtimes-gc": {"task": "runtimes.gc", "schedule": 6 * 3600.0},
    "jobs-reap": {"task": "jobs.reap", "schedule": 15.0},
    "monitoring-prune": {"task": "monitoring.prune", "schedule": 24 * 3600.0},
}
# Builds have their own queue, so a long build never holds up job starts on the default one.
CELERY_TASK_ROUTES = {"runtimes.build": {"queue": "builds"}, "jobs.run": {"queue": "celery"}}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # channels_redis blocks 5 s in BZPOPMIN while redis-py 8 times reads out after 5 s: no read timeout
            # (channels_redis issue #422).
            "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
            "prefix": env.str("PYRUN_CHANNEL_PREFIX", default="pyrun"),
        },
    }
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _with_db(REDIS_URL, env.int("PYRUN_CACHE_REDIS_DB", default=1)),
        "KEY_PREFIX": env.str("PYRUN_CACHE_PREFIX", default="pyrun"),
    }
}

# --- Storage roots -------------------------------------------------------------------------------------
WORKSPACES_ROOT = Path(env.str("PYRUN_WORKSPACES_ROOT", default=str(DATA_DIR / "workspaces")))
ARTIFACTS_ROOT = Path(env.str("PYRUN_ARTIFACTS_ROOT", default=str(DATA_DIR / "artifacts")))
RUNTIMES_ROOT = Path(env.str("PYRUN_RUNTIMES_ROOT", default=str(DATA_DIR / "runtimes")))
# Where code snapshots (and other content-addressed objects) are kept: empty = ARTIFACTS_ROOT/objects,
# file:///path = another local folder, s3://bucket/prefix = S3 with the platform's own AWS credentials.
PYRUN_OBJECT_STORE_URL = env.str("PYRUN_OBJECT_STORE_URL", default="")
# Executor backends added by the operator: name=package.module.Class,... (see jobs.backends).
PYRUN_EXTRA_BACKENDS = env.dict("PYRUN_EXTRA_BACKENDS", default={})
# A runtime build is stopped (failed runtime:user:timeout) after this long.
PYRUN_BUILD_TIMEOUT_SECONDS = env.int("PYRUN_BUILD_TIMEOUT_SECONDS", default=1800)
# A preparing or running job whose worker has not beaten for this long is failed (job:platform:worker-lost).
PYRUN_JOB_HEARTBEAT_TIMEOUT_SECONDS = env.int("PYRUN_JOB_HEARTBEAT_TIMEOUT_SECONDS", default=30)
# A job sent to the workers this long ago and still unclaimed has its run message sent again if the broker lost it.
PYRUN_JOB_RESEND_AFTER_SECONDS = env.int("PYRUN_JOB_RESEND_AFTER_SECONDS", default=60)
# Task events and resource samples of jobs that ended this many days ago are deleted (0: kept with the job).
PYRUN_MONITORING_RETENTION_DAYS = env.int("PYRUN_MONITORING_RETENTION_DAYS", default=0)
# A job keeps at most this many task events (Gantt bars); later ones are counted (Job.task_events_dropped), not kept.
# The largest benchmark stores 200,000 (bench/bench_ingest.py).
PYRUN_MAX_TASK_EVENTS_PER_JOB = env.int("PYRUN_MAX_TASK_EVENTS_PER_JOB", default=1_000_000)
# What a task printed (stdout and stderr of a Lithops call) is kept up to this many bytes per task, then cut with a
# marker; and up to this many bytes per job in all (later tasks' output is not kept).
PYRUN_TASK_OUTPUT_BYTES = env.int("PYRUN_TASK_OUTPUT_BYTES", default=64 * 1024)
PYRUN_TASK_OUTPUT_BYTES_PER_JOB = env.int("PYRUN_TASK_OUTPUT_BYTES_PER_JOB", default=64 * 1024**2)
# Local runtimes get the .pyc of every module at build time (jobs cannot write them: the runtime is read-only).
PYRUN_RUNTIME_COMPILE_BYTECODE = env.bool("PYRUN_RUNTIME_COMPILE_BYTECODE", default=True)
# Runtimes nobody used for this many days are deleted with their files (they rebuild on next use).
PYRUN_RUNTIME_GC_DAYS = env.int("PYRUN_RUNTIME_GC_DAYS", default=30)
# Bare conda channel names (conda-forge) resolve under this URL: point it at a mirror to build offline.
PYRUN_CONDA_CHANNEL_ALIAS = env.str("PYRUN_CONDA_CHANNEL_ALIAS", default="https://conda.anaconda.org")
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("PYRUN_STATIC_ROOT", default=str(DATA_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every process start otherwise
STATICFILES_DIRS = [p for p in [BASE_DIR / "frontend" / "dist"] if p.is_dir()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- AWS cloud accounts ---------------------------------------------------------------------------------
# The platform's own AWS identity (the principal the workers' credentials belong to, e.g.
# arn:aws:iam::111122223333:root or a role ARN): the Principal of the trust policy a tenant pastes into their
# role. Empty: the policy shows a placeholder the tenant must replace with what the operator tells them.
PYRUN_AWS_PRINCIPAL_ARN = env.str("PYRUN_AWS_PRINCIPAL_ARN", default="")

# --- Docker runtimes (.pyrun/Dockerfile) ----------------------------------------------------------------
# Empty: the docker SDK's own default (DOCKER_HOST, else the local socket).
PYRUN_DOCKER_HOST = env.str("PYRUN_DOCKER_HOST", default="")
# A registry to push built images to, e.g. 127.0.0.1:5000; empty keeps images on the building daemon only.
PYRUN_DOCKER_REGISTRY = env.str("PYRUN_DOCKER_REGISTRY", default="")
# The repository built images are tagged into (below the registry when one is set).
PYRUN_DOCKER_REPOSITORY = env.str("PYRUN_DOCKER_REPOSITORY", default="pyrun/runtimes")
# Registries a Dockerfile's FROM / COPY --from may name (an image without a registry host is on docker.io); the
# registry built images are pushed to is always allowed (and its runtime repositories are checked per org).
PYRUN_DOCKER_ALLOWED_REGISTRIES = env.list("PYRUN_DOCKER_ALLOWED_REGISTRIES", default=["docker.io"])
# Loud opt-out for a laptop without root/nftables: Docker builds run on their bridge network WITHOUT the firewall
# that keeps them from the host, its loopback services, the metadata endpoint and private ranges.
PYRUN_UNSAFE_ALLOW_UNFILTERED_BUILD_NETWORK = env.bool("PYRUN_UNSAFE_ALLOW_UNFILTERED_BUILD_NETWORK", default=False)

# --- The sandbox (jobs, terminals, builds; docs/security.md) ------------------------------------------------
# filtered: own network namespace, internet only (no loopback, private, link-local/metadata, host or platform
# addresses); none: loopback only; host: the host's network (unsafe: the platform's services are reachable).
PYRUN_SANDBOX_NETWORK = env.str("PYRUN_SANDBOX_NETWORK", default="filtered")
# Private networks a sandbox may reach after all (e.g. a company's Dask cluster or package index), as CIDRs.
PYRUN_SANDBOX_ALLOW_CIDRS = env.list("PYRUN_SANDBOX_ALLOW_CIDRS", default=[])
# CPU weight of each sandbox's cgroup (cgroup v2 scale: 100 = an equal share with every other job), and an
# optional hard cap in cores (0 = none).
PYRUN_SANDBOX_CPU_WEIGHT = env.int("PYRUN_SANDBOX_CPU_WEIGHT", default=100)
PYRUN_SANDBOX_CPU_MAX_CORES = env.float("PYRUN_SANDBOX_CPU_MAX_CORES", default=0.0)
# A single-user laptop without bubblewrap, slirp4netns/nftables or a writable pids cgroup: run user code with
# weaker walls (without bwrap: as plain processes that can read the data dir). Never on a shared server.
PYRUN_UNSAFE_SINGLE_USER = env.bool("PYRUN_UNSAFE_SINGLE_USER", default=False)
if PYRUN_UNSAFE_SINGLE_USER and PRODUCTION:
    raise ImproperlyConfigured("PYRUN_UNSAFE_SINGLE_USER cannot be set with PYRUN_ENV=production")

# --- Default per-organisation limits (an org can override each; see Organization.limits) ----------------
PYRUN_LIMITS = {
    "max_concurrent_jobs": env.int("PYRUN_MAX_CONCURRENT_JOBS", default=4),
    "max_job_seconds": env.int("PYRUN_MAX_JOB_SECONDS", default=3600),
    "max_file_bytes": env.int("PYRUN_MAX_FILE_BYTES", default=50 * 1024 * 1024),
    "max_workspace_bytes": env.int("PYRUN_MAX_WORKSPACE_BYTES", default=500 * 1024 * 1024),
    "job_memory_bytes": env.int("PYRUN_JOB_MEMORY_BYTES", default=4 * 1024**3),
    "job_max_processes": env.int("PYRUN_JOB_MAX_PROCESSES", default=512),
    # Disk a job may fill: its working copy of the workspace plus its private /tmp and $HOME.
    "job_disk_bytes": env.int("PYRUN_JOB_DISK_BYTES", default=10 * 1024**3),
    # Runtime build minutes per org and calendar month; 0 = no limit.
    "max_build_minutes_per_month": env.int("PYRUN_MAX_BUILD_MINUTES_PER_MONTH", default=0),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("PYRUN_MAX_REQUEST_BYTES", default=100 * 1024 * 1024)
# A workspace terminal with no input for this long is closed and its shell killed.
PYRUN_TERMINAL_IDLE_SECONDS = env.float("PYRUN_TERMINAL_IDLE_SECONDS", default=15 * 60)

# --- Auth, API -----------------------------------------------------------------------------------------
# Failed logins (pyrun_web/login_throttle.py): `failures` per account and client address lock that pair,
# `address_failures` per address lock the address, and past `failures` per account each new one delays the
# next try from addresses the account never logged in from (up to `max_delay_seconds`); all for the window.
LOGIN_THROTTLE = {
    "failures": env.int("PYRUN_LOGIN_MAX_FAILURES", default=5),
    "address_failures": env.int("PYRUN_LOGIN_MAX_FAILURES_PER_ADDRESS", default=20),
    "max_delay_seconds": env.int("PYRUN_LOGIN_MAX_DELAY_SECONDS", default=30),
    "window_seconds": env.int("PYRUN_LOGIN_LOCKOUT_SECONDS", default=300),
}
# Behind a reverse proxy, the client's address is the last X-Forwarded-For entry (the one the proxy appended).
PYRUN_BEHIND_PROXY = env.bool("PYRUN_BEHIND_PROXY", default=False)
API_TOKEN_TOUCH_SECONDS = 60  # last_used_at is written at most this often per token
# An invitation link (POST /api/v1/invitations/) works this many days, once.
PYRUN_INVITATION_DAYS = env.int("PYRUN_INVITATION_DAYS", default=7)
# How many organisations one account may own (POST /api/v1/orgs/ makes the caller the owner); 0: no limit.
PYRUN_MAX_OWNED_ORGS_PER_USER = env.int("PYRUN_MAX_OWNED_ORGS_PER_USER", default=10)

# --- Email (invitations, password resets) ----------------------------------------------------------------
# smtp://user:password@host:25, smtp+tls://…:587 or smtps://…:465; consolemail:// (the default) prints mails to
# the log, dummymail:// drops them.
globals().update(
    {k: v for k, v in env.email_url("PYRUN_EMAIL_URL", default="consolemail://").items() if v not in (None, "")}
)
DEFAULT_FROM_EMAIL = env.str("PYRUN_EMAIL_FROM", default="PyRun Web <noreply@localhost>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pyrun_web.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "pyrun_web.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pyrun_web.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("PYRUN_THROTTLE_ANON", default="120/min"),
        "user": env.str("PYRUN_THROTTLE_USER", default="6000/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PyRun Web API",
    "DESCRIPTION": "Workspaces, runtimes and jobs of PyRun Web. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Self-hosted: the docs page must not depend on a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "pyrun_web.tenancy.models.Role",
        # Jobs and runtimes both have a `state`: name each set of choices after its model.
        "JobStateEnum": "jobs.models.JobState",
        "RuntimeStateEnum": "runtimes.models.Runtime.State",
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- Production hardening --------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("PYRUN_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/$"]  # container health checks speak plain HTTP
    SECURE_HSTS_SECONDS = env.int("PYRUN_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env.bool("PYRUN_BEHIND_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # API keys (pyr_…, ?token=…) never reach a log: see pyrun_web/redaction.py for the other handlers.
    "filters": {"redact_tokens": {"()": "pyrun_web.redaction.RedactTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_tokens"]}},
    "root": {"handlers": ["console"], "level": env.str("PYRUN_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
