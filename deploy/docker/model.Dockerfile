# syntax=docker/dockerfile:1.7
# The model service on a GPU: CUDA runtime base, torch's CUDA build, `tapewatch serve-model`.
# The same image runs on CPU (compose profile "cpu"); the engine picks CUDA when it is present.
FROM ghcr.io/astral-sh/uv:0.9.5 AS uv

FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04 AS base
# tapewatch pins Python 3.11; Ubuntu 22.04 has 3.10, so a standalone 3.11 build comes from uv
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_PYTHON_INSTALL_DIR=/opt/python
RUN uv python install 3.11.11 && ln -s "$(uv python find 3.11.11)" /usr/local/bin/python3.11

FROM base AS build
WORKDIR /src
RUN python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --index-url https://download.pytorch.org/whl/cu128 torch==2.13.0
COPY pyproject.toml requirements.lock README.md ./
COPY common ./common
COPY stream ./stream
COPY model_service ./model_service
COPY alerts ./alerts
RUN pip install -c requirements.lock .

FROM base
RUN useradd --create-home --uid 10001 tapewatch
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 \
    TAPEWATCH_MODEL_HOST=0.0.0.0 TAPEWATCH_MODEL_PORT=8081 TAPEWATCH_MODEL_CACHE_DIR=/home/tapewatch/.cache
USER tapewatch
EXPOSE 8081
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8081/readyz', timeout=4)"
ENTRYPOINT ["tapewatch"]
CMD ["serve-model"]
