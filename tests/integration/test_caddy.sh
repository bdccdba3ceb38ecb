#!/usr/bin/env bash
# test_caddy.sh: the whole foundation suite again, behind Caddy instead of lighttpd.
FRONT=caddy exec bash "$(dirname "$0")/test_foundation.sh"
