package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// connectIMAP opens a session for user: CONNECT (TCP, TLS, greeting,
// capabilities) and LOGIN are timed as commands of their own. The
// connection closes when hard ends; call the returned function when done
// with it.
func (b *base) connectIMAP(hard context.Context, i int) (*imapClient, func(), error) {
	user := b.user(i)
	var c *imapClient
	err := b.stats.timed("CONNECT", func() (err error) {
		c, err = dialIMAP(hard, b.dialer, b.target, b.userBase+i, b.cfg.Timeout)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	stop := watch(hard, c.conn)
	done := func() { stop(); c.close() }
	if err := b.stats.timed("LOGIN", func() error { return c.login(user, b.cfg.Users.Password) }); err != nil {
		done()
		return nil, nil, err
	}
	return c, done, nil
}

// run runs one command as op and records it.
func (b *base) run(c *imapClient, op, cmd string, untagged func([]byte)) error {
	return b.stats.timed(op, func() error {
		_, _, err := c.command(cmd, untagged)
		return err
	})
}

// newMessages is how many messages the first session of a mixed client
// treats as new; later sessions see the one their predecessor appended.
const newMessages = 5

// headerFields is what clients fetch to list messages.
const headerFields = "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID CONTENT-TYPE)])"

// imapMixed is a mail client's session, over and over: LOGIN, SELECT,
// FETCH of the new messages' headers, then of their bodies, STORE \Seen,
// APPEND of a message (which the next session finds new), STORE \Deleted
// and EXPUNGE of the oldest new message (so the mailbox keeps its size),
// LOGOUT, reconnect.
type imapMixed struct{ *base }

// mixedState is what a client remembers between sessions, as a real
// client's cache does.
type mixedState struct {
	uidValidity, lastSeen uint32
	seq                   uint64
}

func (m *imapMixed) client(soft, hard context.Context, i int) {
	user := m.user(i)
	msg := newStampedMessage(Message(m.cfg.Seed, 1_000_000+i, user, m.cfg.MessageSize))
	st := &mixedState{}
	for soft.Err() == nil {
		if err := m.session(hard, i, st, msg); err != nil && !pause(soft) {
			return
		}
	}
}

func (m *imapMixed) session(hard context.Context, i int, st *mixedState, msg *stampedMessage) error {
	c, done, err := m.connectIMAP(hard, i)
	if err != nil {
		return err
	}
	defer done()
	var mb mailboxState
	if err := m.stats.timed("SELECT", func() (err error) {
		mb, err = c.selectMailbox("SELECT", m.cfg.Mailbox)
		return err
	}); err != nil {
		return err
	}
	if mb.uidValidity != st.uidValidity {
		st.uidValidity, st.lastSeen = mb.uidValidity, 0
	}
	// FETCH the headers of what is new.
	var cmd string
	switch {
	case st.lastSeen == 0 && mb.exists > 0:
		cmd = fmt.Sprintf("FETCH %d:* %s", max(1, int(mb.exists)-newMessages+1), headerFields)
	case st.lastSeen > 0 && (mb.uidNext == 0 || st.lastSeen+1 < mb.uidNext):
		cmd = fmt.Sprintf("UID FETCH %d:* %s", st.lastSeen+1, headerFields)
	}
	var uids []uint32
	if cmd != "" {
		err := m.run(c, "FETCH HEADERS", cmd, func(line []byte) {
			if u, ok := parseFetchUID(line); ok && u > st.lastSeen && len(uids) < 1000 {
				uids = append(uids, u)
			}
		})
		if err != nil {
			return err
		}
	}
	// Read them: bodies, then mark them seen.
	for _, u := range uids[:min(len(uids), newMessages)] {
		if err := m.run(c, "FETCH BODY", "UID FETCH "+strconv.FormatUint(uint64(u), 10)+" BODY.PEEK[]", nil); err != nil {
			return err
		}
	}
	if len(uids) > 0 {
		if err := m.run(c, "STORE", "UID STORE "+uidSet(uids)+` +FLAGS.SILENT (\Seen)`, nil); err != nil {
			return err
		}
	}
	st.seq++
	if err := m.stats.timed("APPEND", func() error {
		_, err := c.appendMessage(m.cfg.Mailbox, "", msg.stamp(st.seq))
		return err
	}); err != nil {
		return err
	}
	if len(uids) > 0 {
		oldest := slicesMin(uids)
		if err := m.run(c, "STORE", "UID STORE "+strconv.FormatUint(uint64(oldest), 10)+` +FLAGS.SILENT (\Deleted)`, nil); err != nil {
			return err
		}
		if err := m.run(c, "EXPUNGE", "EXPUNGE", nil); err != nil {
			return err
		}
		st.lastSeen = max(st.lastSeen, slicesMax(uids))
	}
	if err := m.stats.timed("LOGOUT", c.logout); err != nil {
		return err
	}
	m.stats.session()
	return nil
}

func (m *imapMixed) finish(r *WorkloadReport, window time.Duration) {
	r.Primary = Metric{"sessions/s", perSec(r.Sessions, window)}
}

// uidSet renders UIDs as a sequence set.
func uidSet(uids []uint32) string {
	var b strings.Builder
	for i, u := range uids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(u), 10))
	}
	return b.String()
}

func slicesMin(s []uint32) uint32 {
	m := s[0]
	for _, v := range s[1:] {
		m = min(m, v)
	}
	return m
}

func slicesMax(s []uint32) uint32 {
	m := s[0]
	for _, v := range s[1:] {
		m = max(m, v)
	}
	return m
}

// selectedSession is a long session on the selected mailbox, for the
// single-command workloads; it follows the message count.
type selectedSession struct {
	c      *imapClient
	done   func()
	exists int
}

// track follows EXISTS and EXPUNGE in untagged responses.
func (s *selectedSession) track(line []byte) {
	if n, ok := parseExists(line); ok {
		s.exists = int(n)
	} else if strings.HasSuffix(string(line), " EXPUNGE") {
		s.exists--
	}
}

func (b *base) openSelected(hard context.Context, i int) (*selectedSession, error) {
	c, done, err := b.connectIMAP(hard, i)
	if err != nil {
		return nil, err
	}
	var mb mailboxState
	if err := b.stats.timed("SELECT", func() (err error) {
		mb, err = c.selectMailbox("SELECT", b.cfg.Mailbox)
		return err
	}); err != nil {
		done()
		return nil, err
	}
	return &selectedSession{c: c, done: done, exists: int(mb.exists)}, nil
}

// errEmpty is a mailbox without messages where a workload needs some.
var errEmpty = errors.New("the mailbox is empty; preload it (postfach bench prepare)")

// imapFetch lists and reads messages in a long session: FETCH of 20
// messages' headers at a random place, then one random message's body.
type imapFetch struct{ *base }

func (f *imapFetch) client(soft, hard context.Context, i int) {
	r := rand.New(rand.NewPCG(f.cfg.Seed, uint64(i)))
	for soft.Err() == nil {
		s, err := f.openSelected(hard, i)
		if err != nil {
			if !pause(soft) {
				return
			}
			continue
		}
		for soft.Err() == nil {
			if s.exists < 1 {
				err = errEmpty
				f.stats.observe("FETCH HEADERS", 0, err)
				break
			}
			lo := 1 + r.IntN(max(1, s.exists-19))
			hi := min(s.exists, lo+19)
			if err = f.run(s.c, "FETCH HEADERS", fmt.Sprintf("FETCH %d:%d %s", lo, hi, headerFields), s.track); err != nil {
				break
			}
			if err = f.run(s.c, "FETCH BODY", fmt.Sprintf("FETCH %d BODY.PEEK[]", 1+r.IntN(s.exists)), s.track); err != nil {
				break
			}
		}
		if err == nil {
			f.stats.timed("LOGOUT", s.c.logout)
		}
		s.done()
		if err != nil && !pause(soft) {
			return
		}
	}
}

func (f *imapFetch) finish(r *WorkloadReport, window time.Duration) {
	r.Primary = Metric{"FETCH/s", perSec(commandCount(r, "FETCH HEADERS", "FETCH BODY"), window)}
}

// commandCount adds the counts of the named commands.
func commandCount(r *WorkloadReport, names ...string) uint64 {
	var n uint64
	for _, c := range r.Commands {
		for _, name := range names {
			if c.Name == name {
				n += c.Count
			}
		}
	}
	return n
}

// imapAppend appends messages in a long session, each acknowledged only
// once durable (on servers that sync). Its messages go to a mailbox of
// their own, created in setup and deleted in teardown, so that the
// preloaded data stays as it was.
type imapAppend struct{ *base }

func (a *imapAppend) setup(ctx context.Context) error {
	return a.eachUser(ctx, func(c *imapClient) error {
		_, _, err := c.command("CREATE "+quote(a.cfg.AppendMailbox), nil)
		var se *statusError
		if errors.As(err, &se) && se.status == "NO" {
			// It exists already (a run that was cut short).
			return nil
		}
		return err
	})
}

func (a *imapAppend) teardown(ctx context.Context) {
	err := a.eachUser(ctx, func(c *imapClient) error {
		_, _, err := c.command("DELETE "+quote(a.cfg.AppendMailbox), nil)
		return err
	})
	if err != nil {
		a.logf("removing %s: %v", a.cfg.AppendMailbox, err)
	}
}

// eachUser logs in as each distinct user of the workload's clients, a few
// at a time, and runs f; it returns the first error.
func (b *base) eachUser(ctx context.Context, f func(c *imapClient) error) error {
	n := min(b.clients, b.cfg.Users.Count)
	ctx, cancel := context.WithTimeout(ctx, max(time.Minute, time.Duration(n)*b.cfg.Timeout/8))
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan int)
	)
	for range min(n, 8) {
		wg.Go(func() {
			for i := range next {
				err := b.withSession(ctx, i, f)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("%s: %w", b.user(i), err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// withSession runs f in an untimed session of client i's user.
func (b *base) withSession(ctx context.Context, i int, f func(c *imapClient) error) error {
	c, err := dialIMAP(ctx, b.dialer, b.target, b.userBase+i, b.cfg.Timeout)
	if err != nil {
		return err
	}
	defer watch(ctx, c.conn)()
	defer c.close()
	if err := c.login(b.user(i), b.cfg.Users.Password); err != nil {
		return err
	}
	if err := f(c); err != nil {
		return err
	}
	return c.logout()
}

func (a *imapAppend) client(soft, hard context.Context, i int) {
	user := a.user(i)
	msg := newStampedMessage(Message(a.cfg.Seed, 2_000_000+i, user, a.cfg.MessageSize))
	var seq uint64
	for soft.Err() == nil {
		c, done, err := a.connectIMAP(hard, i)
		if err != nil {
			if !pause(soft) {
				return
			}
			continue
		}
		for soft.Err() == nil {
			seq++
			err = a.stats.timed("APPEND", func() error {
				_, err := c.appendMessage(a.cfg.AppendMailbox, "", msg.stamp(seq))
				return err
			})
			if err != nil {
				break
			}
		}
		if err == nil {
			a.stats.timed("LOGOUT", c.logout)
		}
		done()
		if err != nil && !pause(soft) {
			return
		}
	}
}

func (a *imapAppend) finish(r *WorkloadReport, window time.Duration) {
	r.Primary = Metric{"APPEND/s", perSec(commandCount(r, "APPEND"), window)}
}

// imapSearch searches the selected mailbox in a long session, in turn: by
// subject word, by sender name, for a word in no message's body (every
// body is read to the end), and for unseen messages since a date.
type imapSearch struct{ *base }

func (s *imapSearch) client(soft, hard context.Context, i int) {
	r := rand.New(rand.NewPCG(s.cfg.Seed, 3_000_000+uint64(i)))
	for soft.Err() == nil {
		sess, err := s.openSelected(hard, i)
		if err != nil {
			if !pause(soft) {
				return
			}
			continue
		}
		for k := 0; soft.Err() == nil; k++ {
			var op, cmd string
			switch k % 4 {
			case 0:
				op, cmd = "SEARCH SUBJECT", "UID SEARCH SUBJECT "+quote(vocabulary[r.IntN(len(vocabulary))])
			case 1:
				name, _, _ := strings.Cut(senders[r.IntN(len(senders))], " ")
				op, cmd = "SEARCH FROM", "UID SEARCH FROM "+quote(name)
			case 2:
				op, cmd = "SEARCH BODY", fmt.Sprintf("UID SEARCH BODY \"zq%dx\"", r.IntN(1_000_000))
			case 3:
				op, cmd = "SEARCH UNSEEN", "UID SEARCH UNSEEN SINCE 1-Nov-2026"
			}
			if err = s.run(sess.c, op, cmd, nil); err != nil {
				break
			}
		}
		if err == nil {
			s.stats.timed("LOGOUT", sess.c.logout)
		}
		sess.done()
		if err != nil && !pause(soft) {
			return
		}
	}
}

func (s *imapSearch) finish(r *WorkloadReport, window time.Duration) {
	r.Primary = Metric{"SEARCH/s", perSec(commandCount(r, "SEARCH SUBJECT", "SEARCH FROM", "SEARCH BODY", "SEARCH UNSEEN"), window)}
}
