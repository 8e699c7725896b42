#!/bin/sh
set -e
install -d -o npskiosk -g npskiosk -m 0750 /var/lib/npskiosk
chown npskiosk:npskiosk /etc/npskiosk /etc/npskiosk/config.toml
chmod 0750 /etc/npskiosk
chmod 0600 /etc/npskiosk/config.toml
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
