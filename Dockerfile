# Candor: one image for web (granian), worker and beat (celery); docker-compose.yml runs them.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

RUN groupadd --system candor \
    && useradd --system --gid candor --home-dir /app --no-create-home --shell /usr/sbin/nologin candor

# Dependencies first, so code changes do not reinstall them. --require-hashes: every package,
# transitive ones included, must match the hash pinned in requirements.lock.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY . .

# Static files are collected at build time with production storage (hashed names + manifest,
# served by WhiteNoise). The SECRET_KEY here only satisfies the production settings check for
# this one command; it is not kept in the image's environment.
RUN ENVIRONMENT=production DEBUG=false SECRET_KEY=collectstatic-build-step-only \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media \
    && chown -R candor:candor /app/var

USER candor

EXPOSE 8000
# granian (WSGI): 3-4x gunicorn's sync workers on cached public reads (docs/internals.md
# "Processes"). Eight blocking threads per worker: enough to overlap database and Redis waits,
# few enough that 256 connections do not starve each other (the default, over a hundred, timed
# out requests under load). No granian access log: Candor logs what Django answers itself, tokens
# redacted (apps/core/access_log.py); a line per cached read cost two thirds of the throughput.
# GRANIAN_WORKERS sets the number of worker processes (default 1).
CMD ["granian", "--interface", "wsgi", "config.wsgi:application", "--host", "0.0.0.0", \
     "--port", "8000", "--blocking-threads", "8", "--respawn-failed-workers", \
     "--log-config", "config/granian-log.json"]
