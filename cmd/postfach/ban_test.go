package main

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postfach/internal/guard"
	"postfach/internal/store/sqlite"
)

// TestBanWhileServing: `postfach ban` works on the bans of a running
// server's guard, in both directions, and the guard notices at its next
// poll.
func TestBanWhileServing(t *testing.T) {
	cfg := testConfig(t)
	dataDir := filepath.Join(filepath.Dir(cfg), "data")
	postfach(t, nil, "", "domain", "add", "example.org", "--config", cfg).expect(t, 0)
	lock, err := sqlite.LockDataDir(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	st := openStore(t, dataDir)
	// No waits: this test is about the ban list, not the slowing down.
	policy := guard.DefaultPolicy()
	policy.Delay, policy.MaxDelay = 0, 0
	g, err := guard.New(guard.Options{Policy: policy, Store: st, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		g.Run(ctx)
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	addr := netip.MustParseAddr("192.0.2.7")

	postfach(t, nil, "", "ban", "add", "192.0.2.7", "--config", cfg).expect(t, 0, "out:banned 192.0.2.7/32 until removed")
	eventually("ban added by the command", func() bool { return g.Banned(addr) })
	postfach(t, nil, "", "ban", "add", "2001:DB8:1::/48", "24h", "--config", cfg).expect(t, 0, "out:banned 2001:db8:1::/48 until ")
	eventually("network ban", func() bool { return g.Banned(netip.MustParseAddr("2001:db8:1:2::3")) })

	// A ban the guard made shows in the list.
	for range guard.DefaultBanAfter {
		a := netip.MustParseAddr("198.51.100.9")
		if g.Allow(context.Background(), a, "x@example.org") == nil {
			g.Done(a, "x@example.org", false)
		}
	}
	var list result
	eventually("automatic ban stored", func() bool {
		list = postfach(t, nil, "", "ban", "list", "--config", cfg)
		return strings.Contains(list.stdout, "198.51.100.9/32")
	})
	list.expect(t, 0, "out:192.0.2.7/32", "out:permanent", "out:2001:db8:1::/48", "out:postfach ban add", "out:10 failed logins")
	if lines := strings.Count(list.stdout, "\n"); lines != 3 {
		t.Errorf("ban list has %d lines:\n%s", lines, list.stdout)
	}

	postfach(t, nil, "", "ban", "remove", "192.0.2.7", "--config", cfg).expect(t, 0, "out:lifted the ban on 192.0.2.7/32")
	eventually("ban removed by the command", func() bool { return !g.Banned(addr) })
	postfach(t, nil, "", "ban", "remove", "198.51.100.9", "--config", cfg).expect(t, 0)
	eventually("automatic ban lifted", func() bool { return !g.Banned(netip.MustParseAddr("198.51.100.9")) })
	// Its failures were forgotten with it: no immediate ban again.
	if err := g.Allow(context.Background(), netip.MustParseAddr("198.51.100.9"), "x@example.org"); err != nil {
		t.Errorf("after ban remove: %v", err)
	}

	postfach(t, nil, "", "ban", "remove", "192.0.2.7", "--config", cfg).expect(t, 1, "err:192.0.2.7/32 is not banned")
	postfach(t, nil, "", "ban", "remove", "2001:db8:1:2::3", "--config", cfg).expect(t, 1, "err:inside the banned 2001:db8:1::/48")
	postfach(t, nil, "", "ban", "add", "mail.example.org", "--config", cfg).expect(t, 2, "err:neither an IP address nor a network")
	postfach(t, nil, "", "ban", "add", "192.0.2.1", "soon", "--config", cfg).expect(t, 2, "err:duration")
	postfach(t, nil, "", "ban", "add", "--config", cfg).expect(t, 2, "err:missing ADDRESS|NETWORK")
}
