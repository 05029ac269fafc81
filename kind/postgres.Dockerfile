# PostgreSQL of the cluster (knative/data/postgres.yaml): the pinned image plus the hll
# extension that migration 0011 creates for the distinct-user sketches. The postgres image
# already carries the PGDG apt source, which packages the extension per major version.
# Built and `kind load`ed by `nox -s deploy` (functions/deploy/steps.py).
FROM postgres:17.6-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-17-hll \
    && rm -rf /var/lib/apt/lists/*
