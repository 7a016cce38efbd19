import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from apps.core.access_log import AccessLog
from apps.core.forwarded import TrustedProxies, parse_networks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
_django = get_wsgi_application()

# Shared public reads (status pages, their polls, the status API) are answered from process
# memory before Django builds a request (apps/public/fastpath.py); everything else is Django's.
from apps.public.fastpath import FastPathApplication  # noqa: E402  (needs the settings loaded)

# What Django answers is logged (apps/core/access_log.py); fast-path hits are not.
_logged = AccessLog(_django) if settings.ACCESS_LOG else _django

# Outermost: REMOTE_ADDR is the client's, not the front cache's, for requests from
# TRUSTED_PROXIES (apps/core/forwarded.py).
application = TrustedProxies(FastPathApplication(_logged), parse_networks(settings.TRUSTED_PROXIES))
