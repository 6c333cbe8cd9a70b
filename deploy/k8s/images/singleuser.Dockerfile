# The learner's image: the environment `make up` gives a learner's sandbox on one machine — the
# runtime venv under /opt/sunaba with this project and its pinned packages, JupyterLab in
# Japanese, Japanese plot fonts, the dataset catalogue — run as the non-root user jovyan (1000).
# On Kubernetes the pod is the sandbox: the chart runs it non-root, with a read-only root
# filesystem and no privilege escalation; only the home volume and /tmp are writable.
#
# Built from the repository root (graders/, exercises/ and courses/ are never copied in:
# learners can read everything in this image):
#   docker build -f deploy/k8s/images/singleuser.Dockerfile -t sunaba/singleuser:0.1.0 .
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv ca-certificates tini \
      fonts-ipafont-gothic fonts-ipaexfont-gothic \
 && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md /build/
COPY src /build/src
COPY hub_config/sunaba.yaml /build/hub_config/sunaba.yaml
COPY datasets /build/datasets
COPY deploy/constraints.txt /build/deploy/constraints.txt
COPY deploy/local/build-labextension.sh /build/deploy/local/build-labextension.sh
COPY labextension/package.json labextension/package-lock.json /build/labextension/
COPY labextension/lib /build/labextension/lib

# The same install as deploy/local/bootstrap.sh: a venv from Debian's Python, a regular install,
# the learners' JupyterLab extension built with JupyterLab's toolchain in between. npm is only
# needed for that build and leaves in the same layer.
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm \
 && python3 -m venv /opt/sunaba/venv \
 && /opt/sunaba/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/sunaba/venv/bin/pip install --no-cache-dir -c /build/deploy/constraints.txt /build \
 && /build/deploy/local/build-labextension.sh /opt/sunaba \
 && /opt/sunaba/venv/bin/pip install --no-cache-dir --no-deps --force-reinstall /build \
 && cd /build \
 && /opt/sunaba/venv/bin/sunaba --config hub_config/sunaba.yaml deploy image-prepare --source . \
 && apt-get purge -y --auto-remove npm \
 && rm -rf /var/lib/apt/lists/* /root/.npm \
 && chmod -R a+rX /opt/sunaba \
 && rm -rf /build

RUN useradd --uid 1000 --gid 100 --no-create-home --home-dir /home/jovyan --shell /bin/bash jovyan \
 && mkdir -p /home/jovyan && chown 1000:100 /home/jovyan
ENV PATH=/opt/sunaba/venv/bin:/usr/local/bin:/usr/bin:/bin HOME=/home/jovyan
USER 1000
WORKDIR /home/jovyan
EXPOSE 8888
ENTRYPOINT ["tini", "--"]
CMD ["jupyterhub-singleuser"]
