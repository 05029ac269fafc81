# PostgreSQL of the cluster (knative/data/postgres.yaml): the pinned image plus the
# extensions the migrations create: hll (0011, the distinct-user sketches) and pg_partman
# (0017, the time partitions of raw events). The postgres image already carries the PGDG
# apt source, which packages both per major version.
# Built and `kind load`ed by `nox -s deploy` (functions/deploy/steps.py).
FROM postgres:17.6-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-17-hll postgresql-17-partman \
    && rm -rf /var/lib/apt/lists/*
