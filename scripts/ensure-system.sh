#!/usr/bin/env bash
# Install the Debian packages dataward needs, only those that are missing (apt-get update first, once).
#   scripts/ensure-system.sh venv   - what `make demo` needs (python3-venv)
#   scripts/ensure-system.sh test   - plus the servers the test suite starts on its own ports
set -euo pipefail
want=(python3-venv)
if [ "${1:-}" = "test" ]; then
  # openjdk-17-jre-headless runs the Spark tests (local[2]); libpostgresql-jdbc-java and libmariadb-java
  # (MariaDB Connector/J) are their JDBC drivers
  want+=(postgresql mariadb-server redis-server mosquitto memcached chromium iproute2 openjdk-17-jre-headless
         libpostgresql-jdbc-java libmariadb-java)
fi
have_cmd() { command -v "$1" >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/"$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
missing=()
for pkg in "${want[@]}"; do
  case "$pkg" in
    python3-venv) python3 -c 'import ensurepip' 2>/dev/null || missing+=("$pkg") ;;
    postgresql) have_cmd initdb || missing+=("$pkg") ;;
    mariadb-server) have_cmd mariadbd || have_cmd mysqld || missing+=("$pkg") ;;
    redis-server) have_cmd redis-server || missing+=("$pkg") ;;
    mosquitto) have_cmd mosquitto || missing+=("$pkg") ;;
    memcached) have_cmd memcached || missing+=("$pkg") ;;
    chromium) have_cmd chromium || missing+=("$pkg") ;;
    iproute2) have_cmd ip || missing+=("$pkg") ;;
    openjdk-17-jre-headless) have_cmd java || missing+=("$pkg") ;;
    libpostgresql-jdbc-java) [ -e /usr/share/java/postgresql.jar ] || missing+=("$pkg") ;;
    libmariadb-java) [ -e /usr/share/java/mariadb-java-client.jar ] || missing+=("$pkg") ;;
  esac
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: missing Debian packages: ${missing[*]}." >&2
    echo "  Tip: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "Installing missing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's packages start their services on install; policy-rc.d keeps them from grabbing standard ports.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.dataward
  chmod +x /usr/sbin/policy-rc.d.dataward
  if [ ! -e /usr/sbin/policy-rc.d ]; then cp /usr/sbin/policy-rc.d.dataward /usr/sbin/policy-rc.d; added=1; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ "${added:-0}" = 1 ] && rm -f /usr/sbin/policy-rc.d
  rm -f /usr/sbin/policy-rc.d.dataward
fi
