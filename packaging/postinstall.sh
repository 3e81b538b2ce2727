#!/bin/sh
# Tells the person installing how to turn xaad on. It starts nothing: xaad is
# a per-user service, and only each user can enable it for themselves.
set -e
case "${1:-}" in
configure | 1 | "")
	cat <<'MSG'
xaad is installed. Your administrator's settings go in /etc/xaad/config.toml
(check it with: xaad check-config /etc/xaad/config.toml). Then each user runs,
once, as themselves (not with sudo):

    systemctl --user enable --now xaad.socket
    xaactl login

Read /usr/share/doc/xaad/install.md for details.
MSG
	;;
esac
exit 0
