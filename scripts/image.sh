#!/usr/bin/env bash
# npm run image: builds the flannel-ts container image (Dockerfile) without any image registry, then
# checks it. Needs root, podman, runc and debootstrap (Debian packages) and the npm registry.
#   1. localhost/flannel-ts-base:<suite>: a Debian minbase made with debootstrap (the runtime base).
#   2. localhost/flannel-ts-build:<suite>: that base plus g++, make, python3 and this machine's Node with
#      its headers (Debian 12 ships Node 18 only; the build needs Node >= 20.19 with the single-
#      executable fuse, as the official builds have).
#   3. flannel-ts:<version> from the committed tree (git archive HEAD), both bases as build arguments.
#   4. Runs `flanneld --version` and the CNI plugin's VERSION in the image, runs the init containers of
#      kube-flannel.yml against temporary host folders, and the installed plugin on this host.
# Environment: IMAGE (default flannel-ts:<version>), DEBIAN_SUITE (bookworm), DEBIAN_MIRROR,
# IMAGE_WORKDIR (/var/tmp/flannel-ts-image), REBUILD_BASE=1 to remake both bases.
# podman here needs runc, the cgroupfs manager and limits below the host's (see PODMAN/LIMITS).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

VERSION=$(node -p "require('./package.json').version")
IMAGE=${IMAGE:-flannel-ts:$VERSION}
SUITE=${DEBIAN_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WORK=${IMAGE_WORKDIR:-/var/tmp/flannel-ts-image}
BASE=localhost/flannel-ts-base:$SUITE
BUILD_BASE=localhost/flannel-ts-build:$SUITE
PODMAN=(podman --cgroup-manager=cgroupfs --runtime=runc)
LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'image: %s\n' "$*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and podman need it)"
for c in podman runc debootstrap git tar; do
  command -v "$c" >/dev/null || die "$c is missing: apt-get install podman runc debootstrap"
done
mkdir -p "$WORK"
t0=$(date +%s)

has_image() { "${PODMAN[@]}" image exists "$1"; }

make_base() {
  if has_image "$BASE" && [ -z "${REBUILD_BASE:-}" ]; then say "reusing $BASE"; return; fi
  local t rootfs=$WORK/rootfs
  t=$(date +%s)
  say "debootstrap $SUITE (minbase) from $MIRROR"
  rm -rf "$rootfs"
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || die "debootstrap failed, see $WORK/debootstrap.log"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | "${PODMAN[@]}" import --quiet --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"
  echo "$BASE made in $(elapsed "$t")"
}

make_build_base() {
  if has_image "$BUILD_BASE" && [ -z "${REBUILD_BASE:-}" ]; then say "reusing $BUILD_BASE"; return; fi
  local t ctx=$WORK/build-base node prefix
  t=$(date +%s)
  node=$(readlink -f "$(command -v node)")
  prefix=$(dirname "$(dirname "$node")")
  [ -f "$prefix/include/node/node.h" ] || die "Node's headers are not in $prefix/include/node (the addon build must not download them)"
  [ -d "$prefix/lib/node_modules/npm" ] || die "npm is not in $prefix/lib/node_modules/npm"
  grep -q NODE_SEA_FUSE "$node" || die "$node has no single-executable fuse (a shared/distribution build?)"
  say "build base: $SUITE + g++ make python3 + Node $(node --version) from $node"
  rm -rf "$ctx"
  mkdir -p "$ctx"
  cp "$node" "$ctx/node"
  cp -a "$prefix/include/node" "$ctx/include-node"
  cp -a "$prefix/lib/node_modules/npm" "$ctx/npm"
  cat >"$ctx/Containerfile" <<EOF
FROM $BASE
RUN apt-get update && apt-get install -y --no-install-recommends g++ make python3 ca-certificates git && rm -rf /var/lib/apt/lists/*
COPY node /usr/local/bin/node
COPY include-node /usr/local/include/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
EOF
  "${PODMAN[@]}" build --network=host "${LIMITS[@]}" -t "$BUILD_BASE" "$ctx" >"$WORK/build-base.log" 2>&1 || die "building $BUILD_BASE failed, see $WORK/build-base.log"
  rm -rf "$ctx"
  echo "$BUILD_BASE made in $(elapsed "$t")"
}

build_image() {
  local t src=$WORK/src
  t=$(date +%s)
  say "building $IMAGE from $(git rev-parse --short HEAD)"
  rm -rf "$src"
  mkdir -p "$src"
  git archive HEAD | tar -x -C "$src"
  # The CA certificates this machine trusts for HTTPS (a TLS-inspecting proxy) reach npm in the build stage.
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then cp "$NODE_EXTRA_CA_CERTS" "$src/build-ca.pem"; fi
  "${PODMAN[@]}" build --network=host "${LIMITS[@]}" \
    --build-arg "BUILD_BASE=$BUILD_BASE" --build-arg "RUNTIME_BASE=$BASE" --build-arg "VERSION=$VERSION" \
    -t "$IMAGE" -f "$src/Dockerfile" "$src" >"$WORK/image.log" 2>&1 || die "building $IMAGE failed, see $WORK/image.log"
  grep -E 'STEP [0-9]+/[0-9]+: (FROM|RUN)' "$WORK/image.log" | cut -c1-150 || true
  rm -rf "$src"
  echo "$IMAGE built in $(elapsed "$t") ($("${PODMAN[@]}" image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))"
}

run_in_image() {
  "${PODMAN[@]}" run --rm --network=none "${LIMITS[@]}" "$@"
}

check_image() {
  local out host
  say "checking $IMAGE"
  out=$(run_in_image "$IMAGE" --version 2>&1)
  [ "$out" = "$VERSION" ] || die "flanneld --version printed '$out', expected '$VERSION'"
  echo "flanneld --version: $out"
  out=$(run_in_image -e CNI_COMMAND=VERSION --entrypoint /opt/bin/flannel "$IMAGE" </dev/null)
  grep -q '"supportedVersions"' <<<"$out" || die "flannel VERSION printed: $out"
  echo "flannel VERSION: $out"
  for tool in ip iptables nft /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/portmap; do
    run_in_image --entrypoint /bin/sh "$IMAGE" -c "command -v $tool >/dev/null || [ -x $tool ]" || die "$tool is missing from the image"
  done
  echo "iproute2, iptables, nftables, bridge, host-local, portmap: present"

  # The manifest's init containers, with the node's folders replaced by temporary ones.
  host=$(mktemp -d "$WORK/node.XXXXXX")
  mkdir -p "$host/opt/cni/bin" "$host/etc/cni/net.d" "$host/etc/kube-flannel"
  node -e "
    const { parseAllDocuments } = require('yaml');
    const docs = parseAllDocuments(require('fs').readFileSync('kube-flannel.yml', 'utf8')).map((d) => d.toJSON());
    const ds = docs.find((d) => d && d.kind === 'DaemonSet');
    const cm = docs.find((d) => d && d.kind === 'ConfigMap');
    const fs = require('fs');
    fs.writeFileSync('$host/etc/kube-flannel/cni-conf.json', cm.data['cni-conf.json']);
    for (const c of ds.spec.template.spec.initContainers) fs.writeFileSync('$host/' + c.name + '.sh', c.command[2]);
  "
  run_in_image -v "$host/opt/cni/bin:/opt/cni/bin" --entrypoint /bin/sh "$IMAGE" -c "$(cat "$host/install-cni-plugin.sh")"
  run_in_image -v "$host/etc/cni/net.d:/etc/cni/net.d" -v "$host/etc/kube-flannel:/etc/kube-flannel:ro" --entrypoint /bin/sh "$IMAGE" -c "$(cat "$host/install-cni.sh")"
  ls "$host/opt/cni/bin" | tr '\n' ' ' | grep -q 'bridge flannel host-local loopback portmap' || die "install-cni-plugin installed: $(ls "$host/opt/cni/bin")"
  cmp -s "$host/etc/cni/net.d/10-flannel.conflist" "$host/etc/kube-flannel/cni-conf.json" || die "install-cni did not install the conflist"
  out=$(CNI_COMMAND=VERSION "$host/opt/cni/bin/flannel" </dev/null)
  grep -q '"supportedVersions"' <<<"$out" || die "the installed plugin, run on this host, printed: $out"
  echo "init containers: plugin and conflist installed; the installed flannel plugin runs on this host"
  rm -rf "$host"
}

make_base
make_build_base
build_image
check_image
say "done in $(elapsed "$t0"): $IMAGE"
