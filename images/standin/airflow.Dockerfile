# A local stand-in for apache/airflow:3.3.2-python3.11, built by images/build.py only when that
# image cannot be pulled. Never pushed: it is tagged localhost/standin/... and labelled.
#
# What it keeps of the official image: the user airflow (uid 50000, group 0, home
# /home/airflow), AIRFLOW_HOME=/opt/airflow as the working directory, pip installing into the
# user's ~/.local (PIP_USER), and Airflow 3.3.2 with the providers this project uses
# (requirements/airflow.txt), resolved against requirements/dev.lock (the versions the test
# suite runs). What it lacks is listed in
# docs/kubernetes.md ("Stand-in bases").
ARG PYTHON_IMAGE
FROM ${PYTHON_IMAGE}
ARG PIP_CERT
LABEL org.opencontainers.image.title="standin-apache-airflow" \
      org.opencontainers.image.description="Local stand-in for apache/airflow:3.3.2-python3.11; do not push" \
      io.imdb-pipeline.standin-for="apache/airflow:3.3.2-python3.11"
ENV AIRFLOW_HOME=/opt/airflow \
    AIRFLOW_USER_HOME_DIR=/home/airflow \
    HOME=/home/airflow \
    PIP_USER=true \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/home/airflow/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN useradd --uid 50000 --gid 0 --home-dir /home/airflow --create-home --shell /bin/bash airflow \
 && mkdir -p /opt/airflow \
 && chown 50000:0 /opt/airflow \
 && chmod g+w /opt/airflow /home/airflow
COPY requirements/dev.lock /tmp/constraints.txt
COPY requirements/airflow.txt /tmp/airflow-requirements.txt
USER 50000:0
RUN pip install --constraint /tmp/constraints.txt --requirement /tmp/airflow-requirements.txt \
 && airflow version
WORKDIR /opt/airflow
CMD ["airflow", "version"]
