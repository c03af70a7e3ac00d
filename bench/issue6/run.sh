#!/bin/sh
# Issue 6's comparison with Dovecot (docs/BENCHMARKS.md, "Issue 6: sync,
# sort, thread, search"): installs Debian's Dovecot and its Xapian
# full-text plugin when missing, builds (or reuses) the 100k fixture of
# internal/benchtest, and runs bench/issue6 on it. Needs root and Go;
# takes 15 to 30 minutes, most of it building the fixture the first time
# and Dovecot's indexes.
#
#   sudo bench/issue6/run.sh                  # everything
#   sudo bench/issue6/run.sh -rounds 3 -no-xapian
set -eu
cd "$(dirname "$0")/../.."
missing=""
command -v dovecot >/dev/null 2>&1 || missing="dovecot-imapd"
[ -e /usr/lib/dovecot/modules/lib21_fts_xapian_plugin.so ] || missing="$missing dovecot-fts-xapian"
if [ -n "$missing" ]; then
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi
fixture=${POSTFACH_BENCH_FIXTURE:-${TMPDIR:-/tmp}/postfach-issue6-fixture}
# One benchmark run builds the fixture (or checks the one there).
POSTFACH_BENCH_FIXTURE=$fixture go test -run '^$' -bench 'SearchText100k/body/rare$' -benchtime 1x ./internal/benchtest/
exec go run ./bench/issue6 -fixture "$fixture" "$@"
