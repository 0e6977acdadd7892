# One image for the provider, the scheduled jobs and the sample API (compose picks the command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Dependencies first, each at the version and hash requirements.lock names (./dev lock writes it):
# this layer is rebuilt only when the lock changes, and a tampered download fails the build.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
# The application (.dockerignore leaves out tests, local state and secrets), installed without
# resolving anything more; the lock pinned setuptools, its build backend, above.
COPY . .
RUN pip install --no-deps --no-build-isolation . \
    && useradd --system --uid 10001 signet && mkdir -p /app/staticfiles && chown signet /app/staticfiles
USER signet
EXPOSE 8000
ENTRYPOINT ["./docker-entrypoint.sh"]
CMD ["provider"]
