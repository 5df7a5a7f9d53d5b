# The flannel-ts image for kube-flannel.yml.
#
# Build stage: compiles the TypeScript, the C++ addon and the native flannel CNI plugin
# (dist/cni/flannel), makes release/flanneld, a Node single executable (see scripts/binary.mjs), and
# gathers the runtime tree the daemon runs from (/opt/flannel-ts: dist, production node_modules, the
# addon, the launcher). It needs Node >= 20.19
# from an official build (the single-executable fuse; Debian's own nodejs is 18 in bookworm and a shared
# build), Node's headers under <node prefix>/include/node (the addon build downloads nothing), g++, make
# and python3, and the npm registry.
# Runtime stage: Debian with iproute2, iptables and nftables for flanneld, and the bridge, host-local,
# portmap and loopback CNI plugins that the init container installs on nodes that have none.
#
# No image registry is needed: both bases are build arguments. `npm run image` (scripts/image.sh)
# builds local ones with debootstrap and builds this file with podman.
ARG BUILD_BASE=docker.io/library/node:20-bookworm
ARG RUNTIME_BASE=docker.io/library/debian:bookworm-slim

FROM ${BUILD_BASE} AS build
RUN if ! command -v g++ >/dev/null || ! command -v make >/dev/null || ! command -v python3 >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends g++ make python3 && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
# build-ca.pem, when the context has one, holds extra CA certificates for reaching the npm registry
# (behind a TLS-inspecting proxy); the build stage alone uses it.
COPY package.json package-lock.json build-ca.pe[m] ./
RUN if [ -f build-ca.pem ]; then export NODE_EXTRA_CA_CERTS=$PWD/build-ca.pem; fi; npm ci --no-audit --no-fund
COPY . .
# A checkout may carry a host build (native/build has a Makefile with host paths): start clean.
RUN rm -rf native/build dist release && npm run binary && ./release/flanneld --version
# The daemon runs as node + the compiled tree through flanneld/flanneld, the launcher with the memory
# flags (the single executable cannot take them: Node 20's single executables read no V8 flags from
# the command line and refuse --lite-mode in NODE_OPTIONS; it idles at ~127 MiB against ~55). The
# single executable stays for `flanneld --version` and users who run the daemon without the tree.
RUN npm prune --omit=dev --no-audit --no-fund \
 && mkdir -p /opt/flannel-ts/native/build/Release /opt/flannel-ts/flanneld \
 && cp -a package.json node_modules /opt/flannel-ts/ \
 && cp native/build/Release/flannel_native.node /opt/flannel-ts/native/build/Release/ \
 && cp flanneld/flanneld /opt/flannel-ts/flanneld/ \
 && mkdir -p /opt/flannel-ts/dist && cp -a dist/common dist/flanneld dist/subnet-lease dist/backends dist/native /opt/flannel-ts/dist/ \
 && FLANNELD_NODE="$(command -v node)" /opt/flannel-ts/flanneld/flanneld --version

FROM ${RUNTIME_BASE}
ARG VERSION=0.0.0
LABEL org.opencontainers.image.title="flannel-ts" \
      org.opencontainers.image.description="Flannel-compatible overlay network daemon (flanneld) and flannel CNI plugin" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 iptables nftables containernetworking-plugins ca-certificates wireguard-go \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/release/flanneld /opt/bin/flanneld
# The native flannel CNI plugin (C++, a static executable: it runs on any node's libc); the init
# container copies it to /opt/cni/bin/flannel on the node.
COPY --from=build /src/dist/cni/flannel /opt/bin/flannel
# The daemon: the build stage's node and the compiled tree, started by the launcher.
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /opt/flannel-ts /opt/flannel-ts
ENTRYPOINT ["/opt/flannel-ts/flanneld/flanneld"]
