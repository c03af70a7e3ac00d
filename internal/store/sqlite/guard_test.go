package sqlite

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"postfach/internal/guard"
)

// TestGuardStore: bans and known addresses round-trip, survive reopening,
// and a second process's change moves the generation.
func TestGuardStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	now := time.Unix(1_800_000_000, 0)

	gen0, err := s.BanGeneration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bans := []guard.Ban{
		{Prefix: netip.MustParsePrefix("192.0.2.7/32"), Created: now, Until: now.Add(time.Hour), Reason: "10 failed logins"},
		{Prefix: netip.MustParsePrefix("2001:db8:1::/48"), Created: now, Reason: "admin"},
	}
	for _, b := range bans {
		if err := s.PutBan(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// Replacing keeps one row.
	bans[0].Until = now.Add(2 * time.Hour)
	if err := s.PutBan(ctx, bans[0]); err != nil {
		t.Fatal(err)
	}
	known := []guard.KnownAddress{
		{Account: "tim@example.org", Prefix: netip.MustParsePrefix("127.0.0.1/32"), LastSeen: now},
		{Account: "tim@example.org", Prefix: netip.MustParsePrefix("2001:db8:5:6::/64"), LastSeen: now.Add(-48 * time.Hour)},
	}
	if err := s.PutKnownAddresses(ctx, known); err != nil {
		t.Fatal(err)
	}
	// An older time never moves last_seen back.
	if err := s.PutKnownAddresses(ctx, []guard.KnownAddress{{Account: "tim@example.org", Prefix: known[0].Prefix, LastSeen: now.Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Another process (the admin command) opens the same data.
	s = openTest(t, dir, Options{NoSync: true})
	defer s.Close()
	gen1, _ := s.BanGeneration(ctx)
	if gen1 != gen0+3 {
		t.Errorf("generation %d after three writes from %d", gen1, gen0)
	}
	got, err := s.Bans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Prefix != bans[0].Prefix || !got[0].Until.Equal(bans[0].Until) ||
		got[0].Reason != bans[0].Reason || !got[0].Created.Equal(now) ||
		got[1].Prefix != bans[1].Prefix || !got[1].Until.IsZero() {
		t.Errorf("bans %+v", got)
	}
	k, err := s.KnownAddresses(ctx, now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != 1 || k[0] != known[0] {
		t.Errorf("known since a day: %+v", k)
	}

	if err := s.RemoveBansBefore(ctx, now.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Bans(ctx); len(got) != 1 || got[0].Prefix != bans[1].Prefix {
		t.Errorf("after removing expired: %+v", got)
	}
	if ok, err := s.RemoveBan(ctx, bans[1].Prefix); !ok || err != nil {
		t.Errorf("RemoveBan = %v, %v", ok, err)
	}
	if ok, _ := s.RemoveBan(ctx, bans[1].Prefix); ok {
		t.Error("RemoveBan of a missing ban reported true")
	}
	if gen2, _ := s.BanGeneration(ctx); gen2 != gen1+1 {
		t.Errorf("generation %d after one removal from %d", gen2, gen1)
	}
	if err := s.RemoveKnownAddressesBefore(ctx, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.KnownAddresses(ctx, time.Time{}); len(k) != 1 {
		t.Errorf("known after removing stale: %+v", k)
	}
}
