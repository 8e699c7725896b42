#!/bin/sh
set -e
# The kiosk runs as its own system user.
if ! getent passwd npskiosk >/dev/null; then
  adduser --system --group --home /var/lib/npskiosk --no-create-home --shell /usr/sbin/nologin npskiosk
fi
# X needs the kiosk user on the video and input devices.
for g in video input render tty; do
  getent group "$g" >/dev/null && adduser npskiosk "$g" >/dev/null 2>&1 || true
done
