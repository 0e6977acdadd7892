# One image for the provider and the sample API (docker-compose picks the command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY provider ./provider
COPY accounts ./accounts
COPY keys ./keys
COPY sample_api ./sample_api
COPY templates ./templates
COPY static ./static
COPY manage.py docker-entrypoint.sh ./
RUN pip install . && useradd --system --uid 10001 signet && mkdir -p /app/staticfiles && chown signet /app/staticfiles
USER signet
EXPOSE 8000
ENTRYPOINT ["./docker-entrypoint.sh"]
CMD ["provider"]
