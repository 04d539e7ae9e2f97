# syntax=docker/dockerfile:1.7
# The stream worker (and the CLI: ingest, alerts listen, grafana sync). CPU only: in compose the
# model runs in its own service, so torch is the small CPU build. Non-root, pinned, no build tools left.
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml requirements.lock README.md ./
COPY common ./common
COPY stream ./stream
COPY model_service ./model_service
COPY alerts ./alerts
RUN pip install -c requirements.lock .

FROM python:3.11.11-slim-bookworm
RUN useradd --create-home --uid 10001 tapewatch && mkdir -p /data /archive && chown tapewatch /data /archive
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    TAPEWATCH_DATA_DIR=/data TAPEWATCH_ARCHIVE_DIR=/archive TAPEWATCH_WEB_HOST=0.0.0.0
USER tapewatch
EXPOSE 6066
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:6066/metrics', timeout=4)"
ENTRYPOINT ["tapewatch"]
CMD ["worker"]
