# The hub's image for the Zero to JupyterHub chart: JupyterHub with KubeSpawner, the production
# authenticators and Sunaba, plus the checkout (hub pages, courses, exercises, graders) at
# /srv/sunaba/source. The chart mounts its own jupyterhub_config.py; Sunaba's values add one
# `hub.extraConfig` entry that calls sunaba.deploy.k8s_hub.apply_in_hub. Learners never see this
# image: graders and solutions may live here.
#
# Built from the repository root:
#   docker build -f deploy/k8s/images/hub.Dockerfile -t sunaba/hub:0.1.0 .
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
# python3-pycurl: the chart's hub config uses tornado's curl HTTP client.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv python3-pycurl ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

COPY . /srv/sunaba/source
# Sunaba, then the learners' JupyterLab extension built with JupyterLab's toolchain (the hub
# installs it for learners when courses are synced), then Sunaba again with it. npm is only
# needed for that build and leaves in the same layer.
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm \
 && python3 -m venv --system-site-packages /opt/sunaba/venv \
 && /opt/sunaba/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/sunaba/venv/bin/pip install --no-cache-dir -c /srv/sunaba/source/deploy/constraints.txt "/srv/sunaba/source[k8s]" \
      jupyterhub-kubespawner==7.1.0 \
      oauthenticator==17.4.0 \
      jupyterhub-ldapauthenticator==2.0.2 \
 && /srv/sunaba/source/deploy/local/build-labextension.sh /opt/sunaba \
 && /opt/sunaba/venv/bin/pip install --no-cache-dir --no-deps --force-reinstall /srv/sunaba/source \
 && apt-get purge -y --auto-remove npm \
 && rm -rf /var/lib/apt/lists/* /root/.npm /srv/sunaba/source/labextension/node_modules \
 && rm -rf /srv/sunaba/source/.git

# The chart runs the hub as 1000:1000 with /srv/jupyterhub as its working directory.
RUN useradd --uid 1000 --user-group --home-dir /srv/jupyterhub --create-home jovyan
ENV PATH=/opt/sunaba/venv/bin:/usr/local/bin:/usr/bin:/bin
USER 1000
WORKDIR /srv/jupyterhub
EXPOSE 8081
ENTRYPOINT ["tini", "--"]
CMD ["jupyterhub", "--config", "/usr/local/etc/jupyterhub/jupyterhub_config.py"]
