// Package tlstest audits the TLS of a complete postfach server with
// Debian's testssl.sh, on every port that speaks TLS (implicit and
// STARTTLS), offline: no DNS, no outside connection, checked by tracing
// testssl.sh's system calls. It holds tests only.
package tlstest
