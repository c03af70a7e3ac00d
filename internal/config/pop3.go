package config

import (
	"errors"
	"fmt"
)

// POP3 configures the POP3 server ([pop3]). Its listeners are
// listen.pop3 (STLS, port 110) and listen.pop3s (implicit TLS, port 995);
// its sessions share [limits] with IMAP: line length, and idle_timeout
// as the autologout timer (RFC 1939 section 3 asks for at least 10
// minutes; idle_timeout is at least 30).
type POP3 struct {
	// DeletePolicy says what becomes of a message a POP3 client deleted
	// (DELE, then QUIT) (delete_policy):
	//   - "expunge" removes it; IMAP sessions see it expunged at once;
	//   - "trash" moves it to the Trash mailbox;
	//   - "flag" keeps it in INBOX for IMAP and hides it from POP3.
	// An account's own policy, when set, overrides this one. Default
	// "expunge".
	DeletePolicy string `toml:"delete_policy"`
	// MarkSeen flags the messages a POP3 session retrieved (RETR) as \Seen
	// when it ends with QUIT, so that IMAP clients show them read
	// (mark_seen). Default false: downloading on a phone leaves the
	// laptop's view unread.
	MarkSeen bool `toml:"mark_seen"`
}

// DefaultPOP3DeletePolicy is delete_policy's default.
const DefaultPOP3DeletePolicy = "expunge"

// defaultPOP3 is the [pop3] table's defaults.
func defaultPOP3() POP3 {
	return POP3{DeletePolicy: DefaultPOP3DeletePolicy}
}

// validate checks the [pop3] table; each error names its key.
func (p *POP3) validate() []error {
	var errs []error
	switch p.DeletePolicy {
	case "expunge", "trash", "flag":
	case "":
		errs = append(errs, errors.New(`pop3.delete_policy: must be one of expunge, trash, flag`))
	default:
		errs = append(errs, fmt.Errorf("pop3.delete_policy: %q is not one of expunge, trash, flag", p.DeletePolicy))
	}
	return errs
}
