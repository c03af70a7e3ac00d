package attacktest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

const (
	owner         = "alice@example.org"
	totalAttempts = 10000
	// attackers are 127.0.0.2 to 127.0.0.20; connsPerAttacker run at
	// once from each.
	firstAttacker, lastAttacker = 2, 20
	connsPerAttacker            = 3
	// attemptsPerConn: like real tools, a few guesses per connection.
	attemptsPerConn = 3
)

// startServer runs a server with the IMAPS, POP3S and submissions
// listeners of protocols, the default [security] policy, and one real
// account.
func startServer(t *testing.T, configure func(*config.Config)) (*imaptest.Env, map[string]string) {
	t.Helper()
	env := imaptest.Start(t, imaptest.Options{
		Users: []string{owner},
		Configure: func(cfg *config.Config) {
			cfg.Listen.POP3S = "127.0.0.1:0"
			cfg.Listen.Submissions = "127.0.0.1:0"
			if configure != nil {
				configure(cfg)
			}
		},
	})
	addrs := map[string]string{}
	for _, p := range protocols {
		a := env.Server.Addr(p.listener)
		if a == nil {
			t.Fatalf("listener %s not running", p.listener)
		}
		addrs[p.listener] = a.String()
	}
	return env, addrs
}

// ownerLogin logs in as the owner from 127.0.0.1 over p and returns how
// long connecting and logging in took.
func ownerLogin(ctx context.Context, p *protocol, addr string) (time.Duration, error) {
	start := time.Now()
	s, o, err := dial(ctx, p, netip.MustParseAddr("127.0.0.1"), addr)
	if err != nil || o != accepted {
		return 0, fmt.Errorf("%s connect: %v %v", p.name, o, err)
	}
	defer s.close()
	o, err = s.login(owner, imaptest.Password)
	if err != nil || o != accepted {
		return 0, fmt.Errorf("%s login: %v %v", p.name, o, err)
	}
	return time.Since(start), nil
}

// latencyStats summarizes durations.
func latencyStats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(f float64) time.Duration { return s[min(len(s)-1, int(f*float64(len(s))))] }
	return fmt.Sprintf("n=%d p50=%v p90=%v p99=%v max=%v", len(s),
		q(0.5).Round(10*time.Microsecond), q(0.9).Round(10*time.Microsecond),
		q(0.99).Round(10*time.Microsecond), s[len(s)-1].Round(10*time.Microsecond))
}

// TestAttack: 10,000 wrong-password attempts over IMAP, POP3 and SMTP
// AUTH from 127.0.0.2-20, against the real account and many unknown
// ones, with the default policy. No guess succeeds, every attacking
// address ends up banned, and the owner, logging in from 127.0.0.1 all
// along, is never slowed or refused.
func TestAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("the attack takes seconds")
	}
	env, addrs := startServer(t, nil)
	g := env.Server.Guard
	ctx := context.Background()
	ownerAddr := netip.MustParseAddr("127.0.0.1")

	// The owner has used the server before: her address is known.
	var baseline []time.Duration
	for i := range 15 {
		p := &protocols[i%len(protocols)]
		d, err := ownerLogin(ctx, p, addrs[p.listener])
		if err != nil {
			t.Fatalf("owner before the attack: %v", err)
		}
		baseline = append(baseline, d)
	}

	var (
		next                        atomic.Int64
		counts                      [3]atomic.Int64 // by outcome
		byProto                     [3][3]atomic.Int64
		attackDone                  = make(chan struct{})
		wg                          sync.WaitGroup
		errMu                       sync.Mutex
		attackErr                   error
		firstRejected, lastRejected atomic.Int64 // unix nanoseconds
		setErr                      = func(err error) { errMu.Lock(); attackErr = err; errMu.Unlock() }
		start                       = time.Now()
	)
	for a := firstAttacker; a <= lastAttacker; a++ {
		local := netip.AddrFrom4([4]byte{127, 0, 0, byte(a)})
		for c := range connsPerAttacker {
			wg.Go(func() {
				var s *session
				defer func() {
					if s != nil {
						s.close()
					}
				}()
				for {
					i := next.Add(1)
					if i > totalAttempts {
						return
					}
					pi := int(i) % len(protocols)
					p := &protocols[pi]
					// A quarter at the real account, the rest at user
					// names that do not exist.
					user := owner
					if i%4 != 0 {
						user = "user" + strconv.FormatInt(i, 10) + "@example.org"
					}
					if s != nil && (s.proto != p || s.attempts >= attemptsPerConn) {
						s.close()
						s = nil
					}
					o := refused
					if s == nil {
						var err error
						if s, o, err = dial(ctx, p, local, addrs[p.listener]); err != nil {
							setErr(fmt.Errorf("attacker %v conn %d: %v", local, c, err))
							return
						}
					}
					if s != nil {
						var err error
						if o, err = s.login(user, "guess"+strconv.FormatInt(i, 10)); err != nil {
							setErr(fmt.Errorf("attacker %v %s: %v", local, p.name, err))
							return
						}
						if o == refused {
							s.close()
							s = nil
						}
					}
					counts[o].Add(1)
					byProto[pi][o].Add(1)
					if o == rejected {
						now := time.Now().UnixNano()
						firstRejected.CompareAndSwap(0, now)
						lastRejected.Store(now)
					}
				}
			})
		}
	}

	// The owner logs in all along, from her known address, over every
	// protocol in turn; before each login the guard must mean to let
	// her in at once.
	var during []time.Duration
	var ownerErr error
	ownerDone := make(chan struct{})
	go func() {
		defer close(ownerDone)
		for i := 0; ; i++ {
			select {
			case <-attackDone:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if d := g.Judge(ownerAddr, owner); d.Refused || d.Delay != 0 {
				ownerErr = fmt.Errorf("guard would treat the owner with %+v", d)
				return
			}
			p := &protocols[i%len(protocols)]
			d, err := ownerLogin(ctx, p, addrs[p.listener])
			if err != nil {
				ownerErr = err
				return
			}
			during = append(during, d)
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	close(attackDone)
	<-ownerDone

	if attackErr != nil {
		t.Fatal(attackErr)
	}
	if ownerErr != nil {
		t.Errorf("owner during the attack: %v", ownerErr)
	}
	total := counts[accepted].Load() + counts[rejected].Load() + counts[refused].Load()
	if total != totalAttempts {
		t.Errorf("%d attempts counted, want %d", total, totalAttempts)
	}
	if n := counts[accepted].Load(); n != 0 {
		t.Errorf("%d guesses succeeded", n)
	}
	for a := firstAttacker; a <= lastAttacker; a++ {
		if addr := netip.AddrFrom4([4]byte{127, 0, 0, byte(a)}); !g.Banned(addr) {
			t.Errorf("attacker %v not banned", addr)
		}
	}
	if g.Banned(ownerAddr) {
		t.Error("the owner's address is banned")
	}
	if len(during) == 0 {
		t.Error("the owner never logged in during the attack")
	}

	guesses := counts[rejected].Load()
	t.Logf("attack: %d attempts in %v from %d addresses (%d connections at once): %d guesses checked, %d refused unchecked, 0 accepted",
		total, elapsed.Round(time.Millisecond), lastAttacker-firstAttacker+1, (lastAttacker-firstAttacker+1)*connsPerAttacker,
		guesses, counts[refused].Load())
	for pi, p := range protocols {
		t.Logf("  %s: %d checked, %d refused", p.name, byProto[pi][rejected].Load(), byProto[pi][refused].Load())
	}
	if f, l := firstRejected.Load(), lastRejected.Load(); f != 0 {
		burst := time.Duration(l - f)
		t.Logf("attacker: %d guesses within %v, then none: %.0f guesses per minute over the attack's %v; bans last %v, so at most %.2f per minute sustained",
			guesses, burst.Round(time.Millisecond), float64(guesses)/elapsed.Minutes(), elapsed.Round(time.Millisecond),
			config.DefaultBanDuration, float64(guesses)/config.DefaultBanDuration.Minutes())
	}
	t.Logf("owner login latency (connect, TLS, login) before the attack: %s", latencyStats(baseline))
	t.Logf("owner login latency during the attack:                      %s", latencyStats(during))
	for _, b := range g.Bans() {
		t.Logf("ban: %s until %s (%s)", b.Prefix, b.Until.Format(time.TimeOnly), b.Reason)
	}
	t.Logf("guard: %+v", g.Stats())
}
