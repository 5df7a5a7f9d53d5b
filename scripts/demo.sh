#!/usr/bin/env bash
# The flannel-ts demo: a real etcd and three hosts made of network namespaces, one flanneld per host, one
# pod per host attached through the CNI chain (our flannel plugin -> Debian's bridge + host-local), then
# the lease table, a ping matrix between all pods and `flanneld status` of host 1. Everything lives in
# namespaces named fl-demo-<pid>-* and a temp folder, and is removed on exit or Ctrl-C.
#
#   bash scripts/demo.sh [--backend vxlan|host-gw|udp|alloc] [--hosts N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

backend=vxlan hosts=3 keep=0
while (($#)); do
  case "$1" in
    --backend) backend=$2; shift 2 ;;
    --backend=*) backend=${1#*=}; shift ;;
    --hosts) hosts=$2; shift 2 ;;
    --hosts=*) hosts=${1#*=}; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "the demo builds network namespaces: run it as root" >&2; exit 1; }
((hosts >= 2 && hosts <= 9)) || { echo "--hosts must be 2..9" >&2; exit 2; }

. scripts/lib/install.sh
install_debian_packages etcd-server etcd-client iproute2 iptables containernetworking-plugins iputils-ping
require_node
install_npm_packages
echo "building flannel-ts..."
if ! npm run build >"${TMPDIR:-/tmp}/fl-demo-build.log" 2>&1; then
  cat "${TMPDIR:-/tmp}/fl-demo-build.log" >&2; echo "the build failed (output above)" >&2; exit 1
fi

ns=fl-demo-$$
tmp=$(mktemp -d /tmp/fl-demo-XXXXXX)
pids=()

cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for n in $(ip netns list | awk '{print $1}' | grep "^$ns-" || true); do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "underlay: switch $ns-sw (198.18.0.254/24) and $hosts hosts"
ip netns add "$ns-sw"
ip -n "$ns-sw" link set lo up
ip -n "$ns-sw" link add br0 type bridge
ip -n "$ns-sw" link set br0 up
ip -n "$ns-sw" addr add 198.18.0.254/24 dev br0
for i in $(seq 1 "$hosts"); do
  h=$ns-h$i
  ip netns add "$h"
  ip -n "$h" link set lo up
  ip link add eth0 netns "$h" type veth peer name sw$i netns "$ns-sw"
  ip -n "$ns-sw" link set sw$i master br0 up
  ip -n "$h" addr add 198.18.0.$i/24 dev eth0
  ip -n "$h" link set eth0 up
  ip netns exec "$h" sysctl -qw net.ipv4.ip_forward=1
done

say "etcd in the switch namespace"
ip netns exec "$ns-sw" etcd --name demo --data-dir "$tmp/etcd" \
  --listen-client-urls http://198.18.0.254:2379,http://127.0.0.1:2379 --advertise-client-urls http://198.18.0.254:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster demo=http://127.0.0.1:2380 >"$tmp/etcd.log" 2>&1 &
pids+=($!)
etcdctl() { ip netns exec "$ns-sw" env ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 "$@"; }
for _ in $(seq 1 100); do etcdctl endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
config="{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"$backend\"}}"
etcdctl put /coreos.com/network/config "$config" >/dev/null
echo "config: $config"

say "flanneld on every host (logs in $tmp/h<N>/flanneld.log)"
for i in $(seq 1 "$hosts"); do
  mkdir -p "$tmp/h$i"
  ip netns exec "$ns-h$i" "$repo/flanneld/flanneld" --etcd-endpoints=http://198.18.0.254:2379 \
    --iface=eth0 --subnet-file="$tmp/h$i/subnet.env" --healthz-port=10256 --peer-probe-interval=1 \
    >"$tmp/h$i/flanneld.log" 2>&1 &
  pids+=($!)
done
for i in $(seq 1 "$hosts"); do
  for _ in $(seq 1 100); do [ -s "$tmp/h$i/subnet.env" ] && break; sleep 0.1; done
  [ -s "$tmp/h$i/subnet.env" ] || { echo "flanneld on host $i did not write subnet.env:"; tail -5 "$tmp/h$i/flanneld.log"; exit 1; }
done

say "one pod per host through the CNI chain: flannel -> bridge + host-local"
mkdir -p "$tmp/cni-bin"
ln -s "$repo/dist/cni/flannel" "$tmp/cni-bin/flannel"
declare -A podip
for i in $(seq 1 "$hosts"); do
  pod=$ns-pod$i
  ip netns add "$pod"
  ip -n "$pod" link set lo up
  netconf="{\"cniVersion\":\"1.0.0\",\"name\":\"cbr0\",\"type\":\"flannel\",\"subnetFile\":\"$tmp/h$i/subnet.env\",\"dataDir\":\"$tmp/h$i/cni\",\"ipam\":{\"dataDir\":\"$tmp/h$i/ipam\"},\"delegate\":{\"isDefaultGateway\":true}}"
  result=$(echo "$netconf" | ip netns exec "$ns-h$i" env CNI_COMMAND=ADD CNI_CONTAINERID="demo-pod$i" \
    CNI_NETNS="/run/netns/$pod" CNI_IFNAME=eth0 CNI_PATH="$tmp/cni-bin:/usr/lib/cni" "$tmp/cni-bin/flannel" 2>>"$tmp/h$i/cni.log")
  podip[$i]=$(node -e 'const r=JSON.parse(process.argv[1]); console.log(r.ips[0].address.split("/")[0])' "$result")
  echo "pod on host $i: ${podip[$i]}"
done

say "leases in etcd"
etcdctl get --prefix /coreos.com/network/subnets/ | node -e '
  const lines = require("fs").readFileSync(0, "utf8").trim().split("\n");
  console.log("SUBNET            PUBLIC IP       BACKEND   VTEP MAC");
  for (let i = 0; i < lines.length; i += 2) {
    const key = lines[i].split("/").pop().replace("-", "/");
    const v = JSON.parse(lines[i + 1]);
    const mac = (v.BackendData && v.BackendData.VtepMAC) || "-";
    console.log(key.padEnd(18) + v.PublicIP.padEnd(16) + (v.BackendType || "udp").padEnd(10) + mac);
  }'

say "ping matrix (from row to column)"
printf '%-16s' ""
for j in $(seq 1 "$hosts"); do printf '%-16s' "${podip[$j]}"; done
echo
failures=0
for i in $(seq 1 "$hosts"); do
  printf '%-16s' "${podip[$i]}"
  for j in $(seq 1 "$hosts"); do
    if [ "$i" = "$j" ]; then printf '%-16s' "-"; continue; fi
    if ip netns exec "$ns-pod$i" ping -c 2 -i 0.2 -W 2 -q "${podip[$j]}" >/dev/null 2>&1; then
      printf '\033[32m%-16s\033[0m' "ok"
    else
      printf '\033[31m%-16s\033[0m' "FAIL"; failures=$((failures + 1))
    fi
  done
  echo
done

say "what flanneld on host 1 sees of its peers (flanneld status)"
# Its probes need a few seconds for a verdict on every peer: exit code 2 means "cannot tell yet".
for _ in $(seq 1 30); do
  ip netns exec "$ns-h1" node "$repo/dist/flanneld/main.js" status --healthz-port=10256 >"$tmp/status.txt" 2>&1
  code=$?
  [ "$code" != 2 ] && break
  sleep 0.5
done
cat "$tmp/status.txt"

if ((keep)); then
  say "--keep: namespaces $ns-* stay until you press Enter"
  read -r _
fi
if ((failures)); then echo "$failures pod pairs could not reach each other"; exit 1; fi
echo
echo "all pods reach each other over the $backend overlay; cleaning up"
