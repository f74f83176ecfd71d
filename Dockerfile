# The bot's image: the wheel is built in one stage and installed, with the exact versions
# of requirements.txt (hashes checked), in a slim stage without compilers.
# Build: docker build --build-arg SOURCE=https://… -t bookstore-bot .  (or: docker compose build)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md setup.py ./
COPY bot ./bot
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
# Keep in step with pyproject.toml's version (a test checks).
ARG VERSION=0.1.0
ARG SOURCE=""
LABEL org.opencontainers.image.title="bookstore-bot" \
      org.opencontainers.image.description="Telegram bot for a bookstore's pre-booking service" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# An unprivileged user, named by its uid below so that hosts need not know it; as root,
# the embedded PostgreSQL would add a system user to run it.
RUN useradd --create-home --uid 10001 bookstore
COPY requirements.txt /tmp/requirements.txt
# Wheels only: this stage has no compiler, and every locked package ships wheels.
RUN pip install --no-cache-dir --only-binary=:all: --require-hashes --no-deps \
        --requirement /tmp/requirements.txt \
    && rm /tmp/requirements.txt
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl && rm -r /tmp/wheels

USER 10001:10001
WORKDIR /home/bookstore
# Without DATABASE_URL the bot keeps an embedded PostgreSQL here: mount a volume.
ENV DATA_DIR=/home/bookstore/data
RUN mkdir "$DATA_DIR"
VOLUME ["/home/bookstore/data"]
# The bot stops within 10 s of SIGTERM (sends finish, the embedded server stops): give it
# 15 s before SIGKILL (compose.yaml's stop_grace_period; docker run --stop-timeout 15).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=20s --start-period=60s --retries=3 \
    CMD ["bookstore-bot", "check"]
CMD ["bookstore-bot", "run"]
