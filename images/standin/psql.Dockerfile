# A local stand-in for the chart's PostgreSQL image in its one role outside the clusters: the
# `helm test` pod, which only runs psql. Built by images/standin.py for the container tests
# when the real image cannot be pulled; tagged localhost/standin/..., never pushed.
# Debian's psql on the python base (15 on bookworm) speaks to the PostgreSQL 18 server.
ARG PYTHON_IMAGE
FROM ${PYTHON_IMAGE}
ARG STANDIN_FOR
LABEL org.opencontainers.image.title="standin-postgresql-client" \
      org.opencontainers.image.description="Local stand-in (psql only) for ${STANDIN_FOR}; do not push" \
      io.imdb-pipeline.standin-for="${STANDIN_FOR}"
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && psql --version
USER 26:26
