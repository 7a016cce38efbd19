import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from apps.core.forwarded import TrustedProxies, parse_networks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# REMOTE_ADDR is the client's, not the front cache's, for requests from TRUSTED_PROXIES
# (apps/core/forwarded.py).
application = TrustedProxies(get_wsgi_application(), parse_networks(settings.TRUSTED_PROXIES))
