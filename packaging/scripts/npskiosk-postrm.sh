#!/bin/sh
set -e
if [ "$1" = "purge" ]; then
  # Purge removes the responses, the config and the device token, and the user.
  rm -rf /var/lib/npskiosk /etc/npskiosk
  if getent passwd npskiosk >/dev/null; then
    deluser --system npskiosk >/dev/null 2>&1 || true
  fi
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
