#!/usr/bin/env bash
# The services the test suite needs: PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.
# Machines of this project start both before a session; when one is not answering, start it from
# the local binaries (Debian's packages), and fail if it still does not answer: CI must run the
# database and Redis tests, never skip them.
set -uo pipefail

answers() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 2).close()" "$1" 2>/dev/null; }

if ! answers 5432; then
  echo "ci: PostgreSQL is not answering on 127.0.0.1:5432; starting it" >&2
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  for _ in $(seq 20); do answers 5432 && break; sleep 0.5; done
fi
if ! answers 6379; then
  echo "ci: Redis is not answering on 127.0.0.1:6379; starting it" >&2
  if command -v redis-server >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp || true
  fi
  for _ in $(seq 20); do answers 6379 && break; sleep 0.5; done
fi

missing=""
answers 5432 || missing="$missing PostgreSQL(127.0.0.1:5432)"
answers 6379 || missing="$missing Redis(127.0.0.1:6379)"
if [ -n "$missing" ]; then
  echo "ci: required services are not running:$missing" >&2
  exit 1
fi
