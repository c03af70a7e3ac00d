package auth

import (
	"log/slog"
	"unicode/utf8"
)

// FailureMessage is the message of the one log line every failed login
// writes, whatever the protocol. Its attributes come in a fixed order:
//
//	protocol=imap remote=192.0.2.7 user="tim@example.org" reason="wrong password"
//
// remote comes before anything the client chose (the user name), so that
// a pattern anchored on the message cannot be steered by a crafted user
// name. contrib/fail2ban matches this line in the text and JSON formats;
// changing it breaks deployed filters.
const FailureMessage = "auth failed"

// maxLoggedUser bounds the user name in the failure line.
const maxLoggedUser = 128

// logFailure writes the failure line (see FailureMessage).
func logFailure(log *slog.Logger, conn Conn, user, reason string) {
	proto := conn.Protocol
	if proto == "" {
		proto = "-"
	}
	if len(user) > maxLoggedUser {
		cut := maxLoggedUser
		for cut > 0 && !utf8.RuneStart(user[cut]) {
			cut--
		}
		user = user[:cut] + "..."
	}
	log.Info(FailureMessage, "protocol", proto, "remote", conn.Remote.Unmap().String(), "user", user, "reason", reason)
}
