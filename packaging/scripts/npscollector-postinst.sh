#!/bin/sh
set -e
# Enable and start the collector as dh_installsystemd would: deb-systemd-helper keeps an
# administrator's "disable" across upgrades, deb-systemd-invoke honours policy-rc.d.
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
  deb-systemd-helper unmask npscollector.service >/dev/null || true
  if deb-systemd-helper --quiet was-enabled npscollector.service; then
    deb-systemd-helper enable npscollector.service >/dev/null || true
  else
    deb-systemd-helper update-state npscollector.service >/dev/null || true
  fi
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    if [ -n "$2" ]; then action=restart; else action=start; fi
    deb-systemd-invoke "$action" npscollector.service >/dev/null || true
  fi
fi
