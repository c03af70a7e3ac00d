package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// PrepareConfig describes the preloading of mailboxes.
type PrepareConfig struct {
	IMAP  Target
	Users Users
	// Messages is how many messages each user's Mailbox holds afterwards
	// (default 100). Mailboxes that hold as many already are left alone,
	// so preparing twice is harmless.
	Messages int
	Mailbox  string // default INBOX
	Seed     uint64 // default 1
	// Clients is the number of users prepared at once (default 8).
	Clients int
	Timeout time.Duration // per command, default 60s
	TLS     *tls.Config
	Log     io.Writer
}

// PrepareReport says what Prepare did.
type PrepareReport struct {
	Users    int     `json:"users"`
	Appended int64   `json:"appended"`
	Octets   int64   `json:"octets"`
	Skipped  int     `json:"skipped_users"`
	Time     Seconds `json:"time_s"`
}

// Prepare fills every user's mailbox through the protocol (APPEND), with
// messages that depend only on the seed, the user's number and the
// message's position: any two servers prepared alike hold the same
// octets, flags (two in three messages \Seen) and internal dates. The
// users must exist; creating accounts is the server's business.
func Prepare(ctx context.Context, cfg PrepareConfig) (*PrepareReport, error) {
	if err := cfg.Users.Check(); err != nil {
		return nil, err
	}
	if cfg.IMAP.Protocol != IMAP || !cfg.IMAP.Addr.IsValid() || !cfg.IMAP.Addr.Addr().IsLoopback() {
		return nil, errors.New("prepare needs a loopback IMAP target")
	}
	if cfg.Messages == 0 {
		cfg.Messages = 100
	}
	if cfg.Messages < 0 || cfg.Messages > 1_000_000 {
		return nil, errors.New("messages per user must be from 0 to 1,000,000")
	}
	if cfg.Mailbox == "" {
		cfg.Mailbox = "INBOX"
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Clients == 0 {
		cfg.Clients = 8
	}
	cfg.Clients = min(max(cfg.Clients, 1), 256, cfg.Users.Count)
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.TLS == nil {
		cfg.TLS = &tls.Config{}
	}
	if err := RaiseFileLimit(uint64(cfg.Clients) + 64); err != nil {
		return nil, err
	}
	d := &dialer{tls: cfg.TLS, sources: DefaultSources, timeout: cfg.Timeout}
	start := time.Now()
	rep := &PrepareReport{Users: cfg.Users.Count}
	var appended, octets atomic.Int64
	var skipped atomic.Int32
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  atomic.Int64
		done  atomic.Int64
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range cfg.Clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= cfg.Users.Count {
					return
				}
				n, o, err := prepareUser(ctx, d, cfg, i)
				appended.Add(n)
				octets.Add(o)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("%s: %w", cfg.Users.Name(i), err)
					}
					mu.Unlock()
					cancel()
					return
				}
				if n == 0 {
					skipped.Add(1)
				}
				if k := done.Add(1); cfg.Log != nil && (k%50 == 0 || int(k) == cfg.Users.Count) {
					fmt.Fprintf(cfg.Log, "prepared %d of %d users\n", k, cfg.Users.Count)
				}
			}
		})
	}
	wg.Wait()
	rep.Appended, rep.Octets, rep.Skipped = appended.Load(), octets.Load(), int(skipped.Load())
	rep.Time = Seconds(time.Since(start))
	if first != nil {
		return rep, first
	}
	return rep, ctx.Err()
}

// prepareUser brings user i's mailbox to cfg.Messages messages.
func prepareUser(ctx context.Context, d *dialer, cfg PrepareConfig, i int) (appended, octets int64, err error) {
	c, err := dialIMAP(ctx, d, cfg.IMAP, i, cfg.Timeout)
	if err != nil {
		return 0, 0, err
	}
	defer watch(ctx, c.conn)()
	defer c.close()
	user := cfg.Users.Name(i)
	if err := c.login(user, cfg.Users.Password); err != nil {
		return 0, 0, err
	}
	mb, err := c.selectMailbox("EXAMINE", cfg.Mailbox)
	if err != nil {
		return 0, 0, err
	}
	number := cfg.Users.First + i%cfg.Users.Count
	for k := int(mb.exists); k < cfg.Messages; k++ {
		n := number*1_000_000 + k
		msg := Message(cfg.Seed, n, user, preloadSize(cfg.Seed, n))
		flags := `\Seen`
		if k%3 == 0 {
			flags = ""
		}
		if _, err := c.appendDated(cfg.Mailbox, flags, messageTime(n), msg); err != nil {
			return appended, octets, err
		}
		appended++
		octets += int64(len(msg))
	}
	return appended, octets, c.logout()
}
