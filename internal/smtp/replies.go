package smtp

import (
	"context"
	"errors"
	"strconv"
	"strings"

	gosmtp "github.com/emersion/go-smtp"

	"postfach/internal/deliver"
)

// replyError is a refusal with its reply code and RFC 3463 enhanced code
// ("5.7.1"). go-smtp writes an *SMTPError returned by a session as it is.
func replyError(code int, enhanced, text string) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: code, EnhancedCode: parseEnhanced(enhanced, code), Message: text}
}

// parseEnhanced parses "5.7.1"; a malformed code falls back to X.0.0 of
// the reply code's class.
func parseEnhanced(s string, code int) gosmtp.EnhancedCode {
	parts := strings.Split(s, ".")
	if len(parts) == 3 {
		var ec gosmtp.EnhancedCode
		ok := true
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n > 999 {
				ok = false
				break
			}
			ec[i] = n
		}
		if ok && ec[0] == code/100 {
			return ec
		}
	}
	return gosmtp.EnhancedCode{code / 100, 0, 0}
}

// Replies used in more than one place.
var (
	errNestedMail      = replyError(503, "5.5.1", "Nested MAIL command")
	errNoTransaction   = replyError(503, "5.5.1", "Send MAIL FROM first")
	errHelloAfterTLS   = replyError(503, "5.5.1", "Send EHLO again after STARTTLS")
	errTLSFirst        = replyError(530, "5.7.0", "Must issue a STARTTLS command first")
	errAuthRequired    = replyError(530, "5.7.0", "Authentication required")
	errTempFailure     = replyError(451, "4.3.0", "Temporary local problem, try again later")
	errShuttingDown    = replyError(421, "4.3.2", "Service shutting down, try again later")
	errRelayDenied     = replyError(550, "5.7.1", "Relaying denied: this server takes mail only for its own domains")
	errNoSuchUser      = replyError(550, "5.1.1", "No such user here")
	errRequireTLSNoTLS = replyError(530, "5.7.10", "REQUIRETLS needs a TLS session")
	errBareLF          = replyError(550, "5.6.0", "Message has a bare LF (line feed without carriage return); lines end in CRLF (RFC 5321 section 2.3.8)")
	errBareCR          = replyError(550, "5.6.0", "Message has a bare CR (carriage return without line feed); lines end in CRLF (RFC 5321 section 2.3.8)")
	errHeaderTooLarge  = replyError(552, "5.3.4", "Header section too large")
	errLoop            = replyError(554, "5.4.6", "Too many Received header fields: mail loop")
)

// deliverError turns a delivery failure into the reply for it.
func deliverError(err error) *gosmtp.SMTPError {
	var de *deliver.Error
	if errors.As(err, &de) {
		return replyError(de.Code, de.Enhanced, de.Text)
	}
	return errTempFailure
}

// storeTrouble is the reply to a failure of the store or the queue: the
// client should try again later. A cancelled context means the server
// is going down.
func storeTrouble(err error) *gosmtp.SMTPError {
	if errors.Is(err, context.Canceled) {
		return errShuttingDown
	}
	return errTempFailure
}
