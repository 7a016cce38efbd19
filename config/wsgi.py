import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
_django = get_wsgi_application()

# Shared public reads (status pages, their polls, the status API) are answered from process
# memory before Django builds a request (apps/public/fastpath.py); everything else is Django's.
from apps.public.fastpath import FastPathApplication  # noqa: E402  (needs the settings loaded)

application = FastPathApplication(_django)
