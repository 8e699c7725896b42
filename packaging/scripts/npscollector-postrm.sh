#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
# deb-systemd-helper: init-system-helpers, an essential package.
if [ "$1" = "remove" ]; then
  deb-systemd-helper mask npscollector.service >/dev/null || true
fi
if [ "$1" = "purge" ]; then
  # /etc/npscollector holds the contact key file: purge removes it with the database.
  rm -rf /var/lib/npscollector /var/lib/private/npscollector /etc/npscollector
  if getent group npscollector >/dev/null; then
    delgroup --system --quiet npscollector >/dev/null 2>&1 || true
  fi
  deb-systemd-helper purge npscollector.service >/dev/null || true
  deb-systemd-helper unmask npscollector.service >/dev/null || true
fi
