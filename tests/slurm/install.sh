#!/usr/bin/env bash
# Install the Debian packages for a single-node SLURM test cluster (with accounting).
#
#   sudo tests/slurm/install.sh
#
# Idempotent: packages already installed are not touched, and `apt-get update` runs only
# when apt does not know a package yet. The packages must not start their daemons (there is
# no systemd here, and tests/slurm/cluster.sh starts them itself), so a policy-rc.d that
# refuses every start is put in place for the install -- but only when the machine has none,
# and it is removed afterwards. See tests/slurm/README.md.
set -euo pipefail

# slurmdbd + mariadb-server give `sacct`, which the Snakemake SLURM plugin uses for its
# status checks whenever the binary exists (without slurmdbd it hangs; see the notes).
PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)
POLICY=/usr/sbin/policy-rc.d

die() { echo "install.sh: $*" >&2; exit 1; }

command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian/Ubuntu only"
command -v dpkg-query >/dev/null || die "dpkg-query not found: this script supports Debian/Ubuntu only"
[[ $(id -u) -eq 0 ]] || die "must run as root (it calls apt-get install)"

is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

has_candidate() {
    local candidate
    candidate=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [[ -n $candidate && $candidate != "(none)" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install.sh: all packages already installed: ${PACKAGES[*]}"
    exit 0
fi

need_update=0
for pkg in "${missing[@]}"; do
    has_candidate "$pkg" || need_update=1
done
if [[ $need_update -eq 1 ]]; then
    echo "install.sh: apt-get update (apt does not know every package yet)"
    apt-get update -q
fi

created_policy=0
remove_policy() {
    if [[ $created_policy -eq 1 ]]; then
        rm -f "$POLICY"
    fi
}
trap remove_policy EXIT
if [[ ! -e $POLICY ]]; then
    # Exit code 101 = "action forbidden": invoke-rc.d then starts no service.
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    created_policy=1
fi

echo "install.sh: installing ${missing[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install.sh: done"
