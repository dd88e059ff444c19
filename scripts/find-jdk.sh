#!/usr/bin/env bash
# Prints the home of a JDK >= 25, or fails with a clear message.
# Order: $JAVA_HOME if it is new enough, then the JDKs under /usr/lib/jvm, newest first.
set -euo pipefail

major_of() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | awk -F'= ' '/java.specification.version/ {print $2}' | cut -d. -f1
}

candidates=()
[ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
for d in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do candidates+=("${d%/}"); done

for home in "${candidates[@]}"; do
  if [ -x "$home/bin/javac" ]; then
    major=$(major_of "$home" || echo 0)
    if [ "${major:-0}" -ge 25 ] 2>/dev/null; then
      echo "$home"
      exit 0
    fi
  fi
done

echo "error: Raftoral needs a JDK 25 or newer and none was found (looked at \$JAVA_HOME and /usr/lib/jvm/*)." >&2
echo "       Install one (e.g. Temurin 25 into /usr/lib/jvm/temurin-25-jdk-amd64) or set JAVA_HOME to it." >&2
exit 1
