#!/bin/sh
# Measures postfach against Dovecot from Debian on this machine, in one
# command: installs Dovecot if missing, configures both on loopback high
# ports with identical users and mailboxes, runs the same `postfach bench`
# workloads against both in alternation and prints a table of ratios.
# Needs root (apt-get; Dovecot's mail processes run as nobody) and Go.
#
#   sudo bench/compare.sh                 # everything, about 25 minutes
#   sudo bench/compare.sh -only imap-mixed-10,pop3 -rounds 1
#   bench/compare.sh -list                # the cases
#   bench/compare.sh -h                   # the options
set -eu
cd "$(dirname "$0")/.."
# The idle runs hold tens of thousands of connections, two descriptors
# each on this machine: compare raises its own limit too, and the servers
# inherit it.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec go run ./bench/compare "$@"
