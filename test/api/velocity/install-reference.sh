#!/usr/bin/env bash
# Installs the reference engine for test/api/velocity-reference.test.ts: Apache Velocity 1.7
# and commons-lang 2.6 from Debian, plus a JDK when javac is missing. Idempotent; retries
# apt, since CI machines start without these packages.
set -euo pipefail
packages=()
[ -f /usr/share/java/velocity.jar ] || packages+=(velocity)
[ -f /usr/share/java/commons-lang.jar ] || packages+=(libcommons-lang-java)
command -v javac >/dev/null || packages+=(openjdk-17-jdk-headless)
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-reference: the VTL differential test needs Debian's ${packages[*]};" >&2
  echo "install-reference: run as root: apt-get install ${packages[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3; do
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}"; then
    exit 0
  fi
  sleep $((attempt * 10))
done
echo "install-reference: could not install ${packages[*]}" >&2
exit 1
