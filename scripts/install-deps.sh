#!/usr/bin/env bash
# Installs the Debian 12 packages srgate needs to build, run and test.
# Idempotent: only missing packages are installed. Needs root (or sudo).
set -euo pipefail

# pkg-config + libdpdk-dev: dpdk-sys finds DPDK 22.11; dpdk: the PMD plugins; dpdk-dev:
# dpdk-testpmd, the perf baseline (Debian 12 ships it there, not in dpdk);
# clang + libclang-dev: bindgen; libpcap-dev: the net_pcap PMD; tshark reads test outputs;
# python3-scapy builds test inputs (Debian's /usr/bin/python3); iproute2 for the tap test;
# protobuf-compiler: etcd-client's build script runs prost-build (protoc); etcd-server and
# etcd-client: the control-plane tests start their own etcd on loopback ports and read it
# back with etcdctl; python3-networkx is the path-computation tests' oracle.
PKGS=(
  pkg-config
  libdpdk-dev
  dpdk dpdk-dev
  clang libclang-dev
  libpcap-dev
  tshark
  python3-scapy
  iproute2
  protobuf-compiler
  etcd-server etcd-client
  python3-networkx
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
