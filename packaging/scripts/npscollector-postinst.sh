#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
  # The service runs as a dynamic user; it reads the contact key file through this group.
  if ! getent group npscollector >/dev/null; then
    addgroup --system --quiet npscollector
  fi
  # The keys that open shoppers' contacts: made once, never replaced (a replaced key file
  # is every contact sealed to it lost). An administrator who emptied
  # NPSCOLLECTOR_CONTACT_KEYS in the env file keeps a collector without keys.
  keys=/etc/npscollector/contact-keys.pem
  if [ ! -e "$keys" ] && ! grep -q '^NPSCOLLECTOR_CONTACT_KEYS=$' /etc/npscollector/npscollector.env 2>/dev/null; then
    (umask 077 && npscollector contact-key create --file "$keys" >/dev/null)
    chown root:npscollector "$keys"
    chmod 0640 "$keys"
  fi
fi
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
