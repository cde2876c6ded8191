# syntax=docker/dockerfile:1
# Image for web, worker, cron and the one-shot migrate service (docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings

# ffmpeg probes uploads and decodes m4a/opus; libsndfile backs soundfile.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg libsndfile1 \
    && rm -rf /var/lib/apt/lists/*

# uid/gid 1000 in this image and in stemworker/Dockerfile: both write the `shared` volume.
RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app

# CPU torch first: requirements.txt pins torch==2.13.0, which the installed 2.13.0+cpu already
# satisfies, so pip never pulls the multi-GB CUDA build from PyPI.
COPY requirements.txt .
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-cache-dir -r requirements.txt

# Code stays root-owned (read-only to the app user); only the volume mount points belong to app,
# so the named volumes start out writable by it.
COPY . .
# /models: the `models` service (manage.py fetch_models) fills the weights volume mounted there.
RUN mkdir -p /app/staticfiles /shared /models/torch \
    && chown app:app /app/staticfiles /shared /models /models/torch

USER app
EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--worker-class", "gthread", "--threads", "4", "--timeout", "120", "--access-logfile", "-"]
