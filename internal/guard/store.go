package guard

import (
	"context"
	"net/netip"
	"time"
)

// Ban keeps a prefix from logging in, and from connecting at all to the
// listeners that take logins.
type Ban struct {
	Prefix  netip.Prefix
	Created time.Time
	// Until is when the ban ends; zero means when an administrator
	// removes it.
	Until time.Time
	// Reason is for people: "10 failed logins", "admin".
	Reason string
}

// Active reports whether b is in force at now.
func (b Ban) Active(now time.Time) bool {
	return b.Until.IsZero() || now.Before(b.Until)
}

// KnownAddress records that an account logged in from a client address
// (its hostKey prefix).
type KnownAddress struct {
	Account  string // the normalized login name
	Prefix   netip.Prefix
	LastSeen time.Time
}

// Store keeps bans and known addresses across restarts and shares bans
// with administration commands. The SQLite store implements it.
type Store interface {
	// Bans returns every ban, expired ones included.
	Bans(ctx context.Context) ([]Ban, error)
	// PutBan adds a ban or replaces the one on the same prefix.
	PutBan(ctx context.Context, b Ban) error
	// RemoveBan removes the ban on exactly p; false when there was none.
	RemoveBan(ctx context.Context, p netip.Prefix) (bool, error)
	// RemoveBansBefore removes bans that ended before t.
	RemoveBansBefore(ctx context.Context, t time.Time) error
	// BanGeneration changes whenever a ban is put or removed, by any
	// process: a cheap test for "reload the bans".
	BanGeneration(ctx context.Context) (int64, error)

	// KnownAddresses returns the addresses seen since t.
	KnownAddresses(ctx context.Context, since time.Time) ([]KnownAddress, error)
	// PutKnownAddresses adds or refreshes known addresses.
	PutKnownAddresses(ctx context.Context, ks []KnownAddress) error
	// RemoveKnownAddressesBefore forgets addresses last seen before t.
	RemoveKnownAddressesBefore(ctx context.Context, t time.Time) error
}
