#!/usr/bin/env bash
# Install the Debian packages listed in the given files, if any is missing.
# With apt-get and root: installs them. Otherwise: says exactly what to install, and fails
# only for packages the run cannot do without (pass --optional to only warn).
set -euo pipefail
optional=0
[ "${1:-}" = "--optional" ] && { optional=1; shift; }
missing=()
for list in "$@"; do
  while read -r pkg _; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done <"$list"
done
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # refresh the package lists only when they are missing or a day old
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
    apt-get update -qq
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "setup: these system packages are missing: ${missing[*]}" >&2
echo "setup: on Debian/Ubuntu run:  sudo apt-get install ${missing[*]}" >&2
echo "setup: elsewhere install pango (>= 1.44), harfbuzz-subset and a TrueType font (WeasyPrint's needs)," >&2
echo "setup: and Chromium + poppler-utils for the browser and PDF tests." >&2
[ $optional = 1 ] && exit 0 || exit 1
