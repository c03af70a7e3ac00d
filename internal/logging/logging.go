// Package logging builds postfach's log/slog loggers and keeps secrets out
// of them.
//
// Invariants:
//   - A value wrapped in Secret never reaches a log record, whatever the
//     handler.
//   - Attributes whose key names a secret ("password", "pass", "passwd",
//     "secret", "token", "sasl") are redacted by the handlers New builds,
//     as a second line of defence for values not wrapped in Secret.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"postfach/internal/config"
)

// Redacted is what a secret logs as.
const Redacted = "[redacted]"

// Secret is a string that must not be logged: a password, an AUTH payload.
// It logs as "[redacted]" and prints so with fmt's %v and %s.
type Secret string

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// String implements fmt.Stringer.
func (Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer (%#v).
func (Secret) GoString() string { return Redacted }

// Reveal returns the secret itself, for the code that must use it.
func (s Secret) Reveal() string { return string(s) }

// ParseLevel parses debug, info, warn (or warning) and error, in any case.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
}

// Options adjust New beyond the configuration.
type Options struct {
	// MinLevel, when set, raises the configured level to it (admin
	// commands log only warnings and errors).
	MinLevel slog.Leveler
}

// New returns a logger writing to w in the configured format (text or
// json) from the configured level on.
func New(w io.Writer, cfg config.Log, opts Options) (*slog.Logger, error) {
	level, err := ParseLevel(cfg.Level)
	if err != nil {
		return nil, err
	}
	if opts.MinLevel != nil {
		level = max(level, opts.MinLevel.Level())
	}
	ho := &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}
	switch strings.ToLower(cfg.Format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, fmt.Errorf("unknown log format %q (want text or json)", cfg.Format)
}

// redactAttr replaces the values of attributes whose key names a secret.
func redactAttr(groups []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindGroup {
		return a
	}
	switch strings.ToLower(a.Key) {
	case "password", "pass", "passwd", "secret", "token", "sasl":
		return slog.String(a.Key, Redacted)
	}
	return a
}
