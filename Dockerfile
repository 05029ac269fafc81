# One image for the four functions and the migration Job; each Knative Service picks its
# function with its command (`python -m functions.<name>`). Built by `nox -s deploy`.
# the dashboard's static assets, served by the gateway at `/` (Vite 7 needs Node 20.19+)
FROM node:20.19.5-bookworm-slim AS dashboard
WORKDIR /dashboard
COPY dashboard ./
RUN npm ci --no-audit --no-fund && npm run build

FROM python:3.11.13-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY proto ./proto
COPY functions ./functions
# runtime dependencies only, at the exact versions pinned in pyproject.toml (no dev extras)
RUN /opt/venv/bin/pip install .

FROM python:3.11.13-slim-bookworm
COPY --from=build /opt/venv /opt/venv
COPY --from=dashboard /dashboard/dist /opt/dashboard
ENV PATH=/opt/venv/bin:$PATH \
    DASHBOARD_DIR=/opt/dashboard \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8080
# a numeric non-root user, so Kubernetes can verify runAsNonRoot
USER 65532:65532
EXPOSE 8080
CMD ["python", "-m", "functions.ingest"]
