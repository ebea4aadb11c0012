# One image for the web app, the Celery worker, beat and Flower (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_DEBUG=false \
    VAR_DIR=/app/var

WORKDIR /app
# Exactly the production lock: every package pinned and hashed, no development tools.
COPY requirements.txt .
RUN pip install --require-hashes -r requirements.txt

COPY . .
# collectstatic needs a key but no database: a random one that lives for this step only; the real
# key comes from the environment at run time.
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    SINGLE_PROCESS=true python manage.py collectstatic --no-input \
    && useradd --create-home --uid 1000 app \
    && mkdir -p /app/var && chown -R app:app /app/var

USER app
EXPOSE 8000
CMD ["gunicorn", "project.wsgi:application", "--config", "python:project.gunicorn"]
