#!/bin/sh
set -e
if [ "$1" = "purge" ]; then
  rm -rf /var/lib/npscollector /var/lib/private/npscollector /etc/npscollector
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
