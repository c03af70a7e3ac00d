#!/bin/bash
# The POP3 benchmarks of internal/benchtest (pop3_test.go) against
# Dovecot's pop3 (Debian dovecot-pop3d, the project's reference
# configuration) and against postfach, on this machine, with the same
# client, the same messages and the same accounts; prints the medians and
# the ratios postfach/Dovecot.
#
#   sudo bench/pop3/compare.sh [ROUNDS]        # default 3 rounds
#
# Needs root (a mail user with uid 999, as the reference configuration
# wants, is created if there is none, and removed afterwards), Dovecot
# (apt-get install dovecot-pop3d), openssl and Go. DOVECOT_CONF names the
# reference configuration (default /work/shared/reference/dovecot.conf).
# Both servers use implicit TLS (port 995 semantics) with an ECDSA P-256
# certificate; Dovecot runs with its defaults otherwise (one login process
# per connection, Maildir with LF line endings and W= sizes in the file
# names, as its own deliveries are). bench/compare runs the general load
# tool against both; this script measures only what the POP3 issue asks.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
CONF=${DOVECOT_CONF:-/work/shared/reference/dovecot.conf}
RETR_N=${RETR_N:-10000}   # RETRs per run: one pass over the maildrop
LOGIN_N=${LOGIN_N:-3000}  # sessions per run
BIG_N=${BIG_N:-200}       # sessions per run on the 10,000-message maildrop

die() { echo "compare.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
[ -r "$CONF" ] || die "no Dovecot reference configuration at $CONF (set DOVECOT_CONF)"
command -v dovecot >/dev/null || die "dovecot is not installed (apt-get install dovecot-pop3d)"
command -v openssl >/dev/null || die "openssl is not installed"

DIR=$(mktemp -d /tmp/postfach-pop3-compare.XXXXXX)
chmod 755 "$DIR"
CREATED_USER=
MAILUSER=$(getent passwd 999 | cut -d: -f1 || true)
if [ -z "$MAILUSER" ]; then
	useradd -u 999 -M -d /nonexistent -s /usr/sbin/nologin pop3bench
	MAILUSER=pop3bench
	CREATED_USER=1
fi
cleanup() {
	[ -f "$DIR/dovecot.conf" ] && doveadm -c "$DIR/dovecot.conf" stop 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$DIR"
	[ -z "$CREATED_USER" ] || userdel pop3bench 2>/dev/null || true
}
trap cleanup EXIT

mkdir -p "$DIR/run" "$DIR/state" "$DIR/log" "$DIR/tls" "$DIR/mail"
# POP3 only, on ports of its own (found free from 23995 up), so that
# another Dovecot (bench/compare, a colleague's) may run beside this one.
base=23000
while (exec 3<>/dev/tcp/127.0.0.1/$((base + 995))) 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/$((base + 110))) 2>/dev/null; do
	base=$((base + 1000))
	[ "$base" -lt 60000 ] || die "no free port pair found"
done
POP3S=$((base + 995))
sed -e "s#@DIR@#$DIR#g" -e "s#@MAILUSER@#$MAILUSER#g" \
	-e "s#^protocols = .*#protocols = pop3#" \
	-e "s#port = 10110\$#port = $((base + 110))#" -e "s#port = 10111\$#port = $((base + 110))#" \
	-e "s#port = 10995\$#port = $POP3S#" \
	-e "s#^instance_name = .*#instance_name = postfach-pop3-compare#" "$CONF" >"$DIR/dovecot.conf"
grep -q "port = $POP3S\$" "$DIR/dovecot.conf" || die "no pop3s port 10995 in $CONF to move to $POP3S"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=mail.example.org -addext "subjectAltName=DNS:mail.example.org,IP:127.0.0.1" \
	-keyout "$DIR/tls/key.pem" -out "$DIR/tls/cert.pem" 2>/dev/null
{
	echo "pop3big@example.org:{PLAIN}secret::::::"
	for i in $(seq 1 32); do echo "pop3user$i@example.org:{PLAIN}secret::::::"; done
} >"$DIR/users"
chmod 644 "$DIR/users" "$DIR/tls/cert.pem"
chown dovecot "$DIR/tls/key.pem" 2>/dev/null || true

echo "writing the maildrops (10,000 + 32 x 20 messages) for Dovecot..."
go run ./bench/pop3/mkmaildir -root "$DIR/mail"
chown -R "999:$(id -g "$MAILUSER")" "$DIR/mail"
echo "building the benchmark binary..."
go test -c -o "$DIR/benchtest.test" ./internal/benchtest

dovecot -c "$DIR/dovecot.conf"
for _ in $(seq 1 100); do
	(exec 3<>/dev/tcp/127.0.0.1/$POP3S) 2>/dev/null && break
	sleep 0.1
done
(exec 3<>/dev/tcp/127.0.0.1/$POP3S) 2>/dev/null || die "Dovecot does not listen on $POP3S; see $DIR/log"

run() { # label, then environment assignments for the benchmark binary
	local label=$1
	shift
	(cd internal/benchtest &&
		env "$@" "$DIR/benchtest.test" -test.run '^$' -test.bench 'POP3Retr10k' -test.benchtime "${RETR_N}x" &&
		env "$@" "$DIR/benchtest.test" -test.run '^$' -test.bench 'POP3LoginStatQuit$' -test.benchtime "${LOGIN_N}x" &&
		env "$@" "$DIR/benchtest.test" -test.run '^$' -test.bench 'POP3LoginStatQuit10k' -test.benchtime "${BIG_N}x") |
		tee -a "$DIR/$label.txt" | grep '^Benchmark'
}
# postfach's maildrops are built once and cached (internal/benchtest);
# the first run builds them, outside the measurement.
echo "preparing postfach's maildrops..."
(cd internal/benchtest && "$DIR/benchtest.test" -test.run '^$' -test.bench 'POP3LoginStatQuit$' -test.benchtime 1x >/dev/null)
# Rounds alternate, so that the machine's other load falls on both alike.
for r in $(seq 1 "$ROUNDS"); do
	echo "round $r/$ROUNDS: dovecot"
	run dovecot POSTFACH_POP3_BENCH_ADDR=127.0.0.1:$POP3S POSTFACH_POP3_BENCH_PASSWORD=secret
	echo "round $r/$ROUNDS: postfach"
	run postfach
done

# Medians of each benchmark's metrics, side by side.
median() { # file, benchmark, unit
	awk -v b="$2" -v u="$3" '$1 ~ "^Benchmark"b"(-[0-9]+)?$" { for (i = 3; i < NF; i++) if ($(i+1) == u) print $i }' "$1" |
		sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2) }'
}
echo
echo "POP3, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); medians of $ROUNDS rounds"
printf '%-24s %-12s %12s %12s %8s\n' benchmark metric dovecot postfach ratio
for spec in "POP3Retr10k MB/s" "POP3Retr10k msgs/s" "POP3LoginStatQuit sessions/s" "POP3LoginStatQuit10k sessions/s"; do
	set -- $spec
	d=$(median "$DIR/dovecot.txt" "$1" "$2")
	p=$(median "$DIR/postfach.txt" "$1" "$2")
	awk -v b="$1" -v u="$2" -v d="$d" -v p="$p" 'BEGIN {
		r = (d > 0) ? p / d : 0
		printf "%-24s %-12s %12.3f %12.3f %7.2fx\n", b, u, d, p, r }'
done
echo "(ratio > 1: postfach is faster. The benchmarks' cpu-ms/op, in $DIR/*.txt, count the benchmark"
echo " process only: the client, and postfach when it is the server; Dovecot's CPU is not in them.)"
