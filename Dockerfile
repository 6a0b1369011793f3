# pitcrew's image, installed from the lock file: the exact, hash-checked versions of requirements.lock,
# then pitcrew itself without resolving anything again. Railway builds it on its own when it finds it.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY . .
RUN pip install --no-deps . && useradd --create-home pitcrew && chown -R pitcrew /app
USER pitcrew

# Railway gives the port in PORT; `pitcrew db upgrade` runs as the pre-deploy command (docs/deploy-railway.md).
CMD ["sh", "-c", "exec pitcrew serve --port ${PORT:-3000}"]
