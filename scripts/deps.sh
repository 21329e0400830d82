#!/bin/sh
# Install the Debian packages steer's build, tests and demo need, if any is
# missing. Safe to run repeatedly: it does nothing when all are present.
# `deps.sh bench` also installs what `make bench` compares against, `deps.sh
# scale` what `make scale` does.
set -eu

PACKAGES="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config \
libcmocka-dev libinih-dev iproute2 linux-libc-dev gawk procps util-linux \
clang-format cppcheck libev-dev libmicrohttpd-dev prometheus curl libclang-rt-14-dev \
libjansson-dev libmount-dev libmnl-dev ethtool \
wrk dnsmasq-base bind9-dnsutils libcurl4-openssl-dev libssl-dev etcd-server etcd-client"

BENCH_PACKAGES="haproxy nginx-light libnginx-mod-stream gnuplot-nox socat jq iptables nftables"
[ "${1:-}" = bench ] && PACKAGES="$PACKAGES $BENCH_PACKAGES"
# `deps.sh scale`: bench/node-scale.sh's DNAT peers and JSON reader.
[ "${1:-}" = scale ] && PACKAGES="$PACKAGES iptables nftables jq"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Packages such as haproxy and nginx start their daemon on install; the bench
# runs its own instances on loopback, so keep the packaged services stopped.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
	trap 'rm -f "$policy"' EXIT
fi
# A fresh machine has no package lists yet; refresh once if an install fails.
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 ||
	{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null; }
