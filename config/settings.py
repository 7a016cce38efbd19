"""Candor settings: one file, every value from the environment with a safe development default.

ENVIRONMENT=production turns on the strict checks: SECRET_KEY is required, DEBUG must be off,
and HTTPS settings default on. See README "Configuration" for every variable.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from apps.core.csp import inline_script_hashes

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

ENVIRONMENT = env.str("ENVIRONMENT", default="development")
if ENVIRONMENT not in {"development", "production", "test"}:
    raise ImproperlyConfigured(
        f"ENVIRONMENT must be development, production or test, not {ENVIRONMENT!r}"
    )
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when ENVIRONMENT=production")

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when ENVIRONMENT=production")
    SECRET_KEY = "dev-insecure-0c5b1f1e9f3a4d7e8b2c6a5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f"  # noqa: S105

# Hosts that serve the Candor application itself (landing page, dashboard, API).
# Status pages are served on <slug>.<STATUS_PAGE_DOMAIN> and on verified custom domains, which
# are only known at run time, so Django's own host check is opened up and the real check is
# done by apps.organizations.middleware.TenantMiddleware.
APP_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
if any(host == "*" or host.startswith(".") for host in APP_HOSTS):
    # Django's usual "*" would make every host an application host, so no status page on a
    # custom domain or <slug>.<STATUS_PAGE_DOMAIN> could ever be reached: refuse it plainly.
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS names the hosts that serve the Candor application itself (landing page, "
        "dashboard, API), e.g. ALLOWED_HOSTS=candor.example.com; wildcards ('*', '.example.com') "
        "are not accepted. Status pages need no entry: <slug>.<STATUS_PAGE_DOMAIN> and verified "
        "custom domains are recognised on their own."
    )
# SECURITY: TenantMiddleware rejects (404) every host that is neither an APP_HOST, a
# <slug>.<STATUS_PAGE_DOMAIN> host nor a verified custom domain.
ALLOWED_HOSTS = ["*"]
STATUS_PAGE_DOMAIN = env.str("STATUS_PAGE_DOMAIN", default="status.localhost").lower().strip(".")
# Where the application itself is reached: every absolute link (mail, "View status page",
# summary.json) is built from it by apps.core.links.absolute_url. `make run` sets it from
# HOST and PORT.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme not in {"http", "https"} or not _site.hostname:
    raise ImproperlyConfigured(f"SITE_URL must be an http:// or https:// URL, not {SITE_URL!r}")
# The application answers where its links point (HOST=my-laptop.lan make run, say).
if _site.hostname not in APP_HOSTS and f"[{_site.hostname}]" not in APP_HOSTS:
    APP_HOSTS.append(f"[{_site.hostname}]" if ":" in _site.hostname else _site.hostname)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    "apps.core",
    "apps.accounts",
    "apps.organizations",
    "apps.integrations",
    "apps.api",
    "apps.status",
    "apps.incidents",
    "apps.notifications",
    "apps.forum",
    "apps.public",
    "apps.privacy",
    "apps.demo",
]

MIDDLEWARE = [
    # First: a shared public read answered from memory skips everything below; what the stack
    # below answers is stored there (apps/public/fastpath.py; also in front of config/wsgi.py).
    "apps.public.fastpath.FastPathMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside TenantMiddleware, so every response it or anything below answers gets both
    # headers, cached public pages included (apps/core/csp.py).
    "apps.core.csp_middleware.ContentSecurityPolicyMiddleware",
    "apps.core.csp.PermissionsPolicyMiddleware",
    "apps.organizations.middleware.TenantMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
# Served on a status page host, or below /s/<slug>/ on the application host.
PUBLIC_URLCONF = "config.urls_public"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.site",
                "apps.core.context_processors.languages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'candor.sqlite3'}"
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60 if PRODUCTION else 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
# An optional read replica (streaming replication of the same database) for public reads only:
# apps.core.db routes a block's reads there when the caller asks and the replica has caught up
# (apps/organizations/replica.py); writes and everything else stay on "default". Unset: no
# second alias and no router, nothing changes.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL")
    DATABASES["replica"]["ATOMIC_REQUESTS"] = False
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    # Tests read the replica alias from the test database itself (no second test database).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["apps.core.db.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="candor"),
            # A Redis that stops answering must fail fast (the public page then serves its
            # last good copy), never hang a request.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The public fast path (apps/public/fastpath.py): per-process memory of shared public answers,
# bounded by bytes; each entry is also dropped after PUBLIC_FASTPATH_TTL seconds.
PUBLIC_FASTPATH = env.bool("PUBLIC_FASTPATH", default=True)
# A line per request Django answers (apps/core/access_log.py); runserver prints its own.
ACCESS_LOG = env.bool("ACCESS_LOG", default=PRODUCTION)
PUBLIC_FASTPATH_MEMORY_BYTES = env.int("PUBLIC_FASTPATH_MEMORY_BYTES", default=32 * 1024 * 1024)
PUBLIC_FASTPATH_TTL = env.float("PUBLIC_FASTPATH_TTL", default=5.0)
# After a database failure, public reads in a web process serve cached copies without asking
# the database for this many seconds (apps/core/outage.py), then try it again.
PUBLIC_DATABASE_RETRY_SECONDS = env.float("PUBLIC_DATABASE_RETRY_SECONDS", default=1.0)

# Celery: Redis broker when REDIS_URL is set; otherwise tasks run in-process (quick start).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL and not env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Reliability (shared/reference/delivery-notes.md §3): ack after the task ran, re-queue when a
# worker process dies, reserve one task per process. Tasks must be idempotent (see
# apps/notifications/tasks.py for how deliveries are claimed).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Off: a batch that is sending when Redis goes away finishes its sends (mail keeps flowing
# through a Redis outage; benchmarks/drills/drill_redis.py), instead of being cancelled and its
# rows resent later. Running it twice is harmless: its rows stay claimed (the lease is renewed
# while it runs) and its redelivered message claims nothing. celery#7185 also reports the
# cancel path ending the worker's main process. Note: with celery/kombu 5.7.0 the main process
# exits anyway when Redis goes away while it holds unacknowledged messages ("Unrecoverable
# error: AttributeError ... 'hostname'" while restoring them): run workers under a supervisor
# that restarts them (docker-compose `restart: unless-stopped`, Kubernetes); the new worker
# sweeps as soon as it is ready (apps/notifications/tasks.py).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 10.0
# When a worker is killed outright (SIGKILL, OOM, lost host) its unacknowledged tasks come back
# from Redis after the visibility timeout, found by kombu's unacked-restore sweep (by default
# only every ~100 s; 2 s here). Every task must finish well inside the visibility timeout, or
# Redis hands it to a second worker while it still runs: hence the time limits below. Work
# that needs longer is split into several tasks. Never use countdown/ETA longer than it.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=60)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": 2,
    "unacked_restore_throttle": 1,
}
CELERY_TASK_TIME_LIMIT = max(5, CELERY_VISIBILITY_TIMEOUT - 5)
CELERY_TASK_SOFT_TIME_LIMIT = max(4, CELERY_VISIBILITY_TIMEOUT - 15)
CELERY_TASK_DEFAULT_QUEUE = "default"
# Declared, so that a plain `celery -A config worker` (as every Celery user starts one) consumes
# all three; without this it consumed only "default" and subscriber mail and webhooks waited
# forever. `-Q` still splits them across workers.
CELERY_TASK_QUEUES = [Queue("default"), Queue("notifications"), Queue("webhooks")]
# Separate queues so a slow webhook endpoint never delays email (DESIGN.md "Processes").
CELERY_TASK_ROUTES = {
    "notifications.fanout_event": {"queue": "notifications"},
    "notifications.send_email_batch": {"queue": "notifications"},
    "notifications.send_confirmation": {"queue": "notifications"},
    "notifications.send_disabled_notice": {"queue": "notifications"},
    "notifications.send_webhook_batch": {"queue": "webhooks"},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Resend deliveries whose retry time has come, or whose batch died or was lost. Every 3 s:
    # after a worker is killed or Redis restarts empty, mail catches up within the lease (8 s,
    # apps/notifications/conf.py) or the grace (10 s) plus this; the query is one index scan.
    "notifications-retry-due-deliveries": {
        "task": "notifications.retry_due_deliveries",
        "schedule": 3.0,
    },
    # Restart fan-outs of events left unprocessed (crash between commit and enqueue, an enqueue
    # that failed while Redis was down, a message lost with Redis).
    "notifications-requeue-unprocessed-events": {
        "task": "notifications.requeue_unprocessed_events",
        "schedule": 3.0,
    },
    # Start, complete and send reminders for scheduled maintenances (idempotent).
    "incidents-maintenance-transitions": {
        "task": "incidents.run_maintenance_transitions",
        "schedule": 60.0,
    },
    # Forum reply mail whose batching window opened (at most one per person per thread per
    # 10 minutes; apps/forum/notifications.py). Idempotent: notices are claimed.
    "forum-send-due-reply-mails": {
        "task": "forum.send_due_reply_mails",
        "schedule": 60.0,
    },
    # Remind responders of an incident update that is due soon or overdue (idempotent).
    "incidents-update-reminders": {
        "task": "incidents.run_update_reminders",
        "schedule": 60.0,
    },
    # Post alert-driven incident changes held for a coalescing window once it has ended
    # (apps/integrations/alerts/services.py, "Coalescing"). Idempotent.
    "integrations-post-due-alert-updates": {
        "task": "integrations.post_due_alert_updates",
        "schedule": 10.0,
    },
    # Close each organization's UptimeDay rows soon after its local midnight (idempotent).
    "status-close-uptime-days": {
        "task": "status.close_uptime_days",
        "schedule": 15 * 60.0,
    },
}

# How many minutes before a promised incident update is due its responders are reminded
# (apps/incidents/tasks.py; a second reminder goes out once it is overdue).
UPDATE_REMINDER_LEAD_MINUTES = env.int("UPDATE_REMINDER_LEAD_MINUTES", default=5)
if not 1 <= UPDATE_REMINDER_LEAD_MINUTES <= 60:
    raise ImproperlyConfigured("UPDATE_REMINDER_LEAD_MINUTES must be between 1 and 60.")

# Email: EMAIL_URL (smtp://user:pass@host:587, smtp+tls://..., consolemail:// for the raw
# MIME) or, unset in development, mail is printed readably on the terminal that runs the
# server: From, To, Subject, the text part and its links (apps/core/mail.py).
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "apps.core.mail.EmailBackend"
# A mail provider's API instead of SMTP, by configuration alone (django-anymail): e.g.
# EMAIL_BACKEND=anymail.backends.postmark.EmailBackend with ANYMAIL_POSTMARK_SERVER_TOKEN=...
# Every ANYMAIL_* variable becomes the Django setting of the same name, which anymail reads.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=EMAIL_BACKEND)
# Seconds an SMTP connect or reply may take: a stalled server fails the batch's connection
# (it reconnects or retries later) instead of holding a worker until the task's time limit.
# Batch budget (15 s) + this stays below the sender tasks' soft limit (40 s).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
vars().update({name: value for name, value in os.environ.items() if name.startswith("ANYMAIL_")})
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Candor <noreply@candor.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Sender of subscriber notifications (the organization's name is the display name).
NOTIFICATIONS_FROM_EMAIL = env.str(
    "NOTIFICATIONS_FROM_EMAIL", default=f"notifications@{STATUS_PAGE_DOMAIN}"
)
# SMTP connections an email batch sends over at once, and messages per connection before it is
# closed and a new one opened (0: no limit). Per provider limits: docs/notifications.md.
NOTIFICATIONS_SMTP_CONNECTIONS = env.int("NOTIFICATIONS_SMTP_CONNECTIONS", default=4)
NOTIFICATIONS_SMTP_MESSAGES_PER_CONNECTION = env.int(
    "NOTIFICATIONS_SMTP_MESSAGES_PER_CONNECTION", default=100
)

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "orgs:home"

# django-allauth
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Candor] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
ACCOUNT_ADAPTER = "apps.accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"request_login_code": "apps.accounts.forms.RequestLoginCodeForm"}
# allauth's rate limits stay at their defaults (on); listed here so they are easy to find.
# Failed password sign-ins (apps/accounts/adapter.py): login_failed's "key" is the address *and*
# the client IP together, so a stranger's wrong passwords lock only the stranger's client, never
# the owner's; login_failed_address (ours) is one address across all clients, against guessing
# spread over many clients, above what one client can reach under its own limit (5 per 5
# minutes: at most 60 an hour). Sign-in by emailed code counts in neither: a locked address's
# owner gets in that way.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "login_failed_address": "100/h/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "login": "30/m/ip",
    # Keyed by address and client, not by the address alone (apps.accounts.adapter.
    # consume_login_code_request): one client reaches at most 10 an hour for an address, and the
    # ceiling across clients is well above that.
    "request_login_code": "20/m/ip,3/m/key,10/h/key",
    "request_login_code_address": "60/h/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Candor"

# Readers' languages (apps/core/i18n.py): public pages, the forum, the embed, the outage page
# and subscriber mail speak these; the dashboard stays English (its strings are marked so it
# can follow). Each status page picks its default and the ones it offers.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("ja", "日本語"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The switcher on public pages sets it; the front cache keys on it (deploy/nginx/candor.conf).
LANGUAGE_COOKIE_NAME = "candor_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REST_FRAMEWORK = {
    # The API key model and its authentication are apps.integrations'; apps.api's base classes
    # read this setting (they sit below that app: docs/architecture.md).
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.integrations.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.api.permissions.HasApiKeyScope"],
    "DEFAULT_THROTTLE_CLASSES": ["apps.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("API_RATE_LIMIT", default="600/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Size-limited and strict (apps/api/parsers.py): DRF's own reads bodies of any size.
    "DEFAULT_PARSER_CLASSES": ["apps.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "apps.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
    # Service ValidationErrors become 400s; every error body has "detail" (apps/api/exceptions.py).
    "EXCEPTION_HANDLER": "apps.api.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Candor management API",
    "DESCRIPTION": (
        "Drive a Candor status page from scripts, monitoring and chat-ops. Authenticate with an "
        "API key (Dashboard → API keys) as `Authorization: Bearer <key>`. Errors are "
        '`{"detail": "..."}` with the status code: 401 no or invalid key, 403 read-only key, '
        "404 not found, 429 too many requests (see Retry-After)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs are public (config/api_urls.py sets the same on the views).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # `status` and `impact` fields carry different value sets: one name each
    # (apps/incidents/api_fields.py).
    "ENUM_NAME_OVERRIDES": {
        "ComponentStatusEnum": "apps.status.models.ComponentStatus",
        "IncidentStatusEnum": "apps.incidents.models.IncidentStatus",
        "OpenIncidentStatusEnum": "apps.incidents.api_fields.OPEN_INCIDENT_STATUS",
        "IncidentUpdateStatusEnum": "apps.incidents.api_fields.INCIDENT_UPDATE_STATUS",
        "MaintenanceStatusEnum": "apps.incidents.models.MaintenanceStatus",
        "TemplateStatusEnum": "apps.incidents.api_fields.ANY_STATUS",
        "ImpactEnum": "apps.incidents.models.Impact",
        "IncidentImpactEnum": "apps.incidents.api_fields.INCIDENT_IMPACT",
        "ActionItemStatusEnum": "apps.incidents.models.ActionItem.Status",
    },
}

# HTTPS and cookies. SECURE_SSL_REDIRECT defaults on in production; turn it off for a plain-HTTP
# deployment behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The proxies in front of the web process (the front cache, a load balancer): addresses or CIDR
# ranges whose X-Forwarded-For is believed, so REMOTE_ADDR is the reader's, not the proxy's
# (apps/core/forwarded.py, applied in config/wsgi.py). Empty: REMOTE_ADDR is the peer.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network (e.g. 10.0.0.5 or "
            "10.0.0.0/24)"
        ) from None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = False
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
# One policy for every page, public and dashboard (apps/core/csp.py says why it has no nonce).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # Files under static/ only, plus the outage page's inline script by the hash of its text.
        "script-src": [SELF, *inline_script_hashes()],
        # Inline style="" attributes (dozens in the templates), the status page's accent colours
        # (a <style> rendered per organization) and Redoc's injected styles need it. Styles
        # cannot run code; scripts are what the policy guards.
        "style-src": [SELF, UNSAFE_INLINE],
        # Uploaded logos and favicons are served by this application (/media/branding/...).
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        # The middleware adds the application's origin (SITE_URL) for the staff hand-off from a
        # status page host (apps/core/csp_middleware.py).
        "form-action": [SELF],
        # Nothing is meant to be framed (X-Frame-Options says DENY too): the banner on customers'
        # sites is a script (embed.js), and the outage page is a file they serve themselves.
        "frame-ancestors": [NONE],
    },
}
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a one-way decision for the operator's domain, not ours to make.
    "security.W021",
]
if PRODUCTION and not SECURE_SSL_REDIRECT:
    # W008 (SECURE_SSL_REDIRECT off) is the documented choice behind a TLS-terminating proxy.
    SILENCED_SYSTEM_CHECKS.append("security.W008")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "filters": {
        "no_client_error_tracebacks": {"()": "apps.core.logs.NoClientErrorTracebacks"},
        "quiet_routine_requests": {"()": "apps.core.logs.QuietRoutineRequests"},
        "redact_hook_tokens": {"()": "apps.core.logs.RedactHookTokens"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            # Static files and open pages' polls are not worth a line (mail is read here).
            "filters": ["quiet_routine_requests"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own console handler (DEBUG only) would print every django.* line a second
        # time: they go to the root handler alone.
        "django": {"handlers": [], "propagate": True},
        # runserver's request lines as Django prints them: configuring "django" above resets
        # its children, so Django's default for this one is restated.
        # Both carry request paths: inbound alert tokens are redacted from them.
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["redact_hook_tokens"],
        },
        # A 403 or 404 is one line ("Forbidden (Permission denied): /path"), not a traceback:
        # the client asked for something it may not have, the code did nothing wrong.
        "django.request": {"filters": ["no_client_error_tracebacks", "redact_hook_tokens"]},
        # The web process's access log (apps/core/access_log.py), tokens redacted.
        "candor.access": {"level": "INFO", "filters": ["redact_hook_tokens"]},
    },
}
if CELERY_TASK_ALWAYS_EAGER:
    # Tasks in-process (`make run`): no "Task ... succeeded" line per task, and no warning from
    # the in-memory broker; a failing task still logs its error.
    LOGGING["loggers"] |= {"celery": {"level": "WARNING"}, "kombu": {"level": "ERROR"}}

# Custom-domain verification: the TXT record name and the resolver used (tests replace it).
DOMAIN_VERIFICATION_PREFIX = "_candor-verification"
INVITATION_MAX_AGE_DAYS = 7
