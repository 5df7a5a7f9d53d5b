#!/usr/bin/env bash
# Runs every flannel-ts test on a Debian/Ubuntu machine as root: installs what is missing (Debian
# packages, npm packages), builds, and runs the unit, etcd and network-namespace suites.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/install.sh
install_debian_packages etcd-server etcd-client iproute2 iptables nftables tcpdump iperf3 containernetworking-plugins iputils-ping python3 openssl systemd wireguard-go wireguard-tools
require_node
install_npm_packages
npm test
