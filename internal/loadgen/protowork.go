package loadgen

import (
	"context"
	"sync/atomic"
	"time"
)

// pop3Sessions runs POP3 sessions, over and over: connect, USER and PASS,
// STAT, RETR of every message, QUIT (nothing is deleted).
type pop3Sessions struct{ *base }

func (p *pop3Sessions) client(soft, hard context.Context, i int) {
	for soft.Err() == nil {
		if err := p.session(hard, i); err != nil && !pause(soft) {
			return
		}
	}
}

func (p *pop3Sessions) session(hard context.Context, i int) error {
	user := p.user(i)
	var c *pop3Client
	err := p.stats.timed("CONNECT", func() (err error) {
		c, err = dialPOP3(hard, p.dialer, p.target, p.userBase+i, p.cfg.Timeout)
		return err
	})
	if err != nil {
		return err
	}
	defer watch(hard, c.conn)()
	defer c.close()
	if err := p.stats.timed("USER", func() error { _, err := c.cmd("USER " + user); return err }); err != nil {
		return err
	}
	if err := p.stats.timed("PASS", func() error { _, err := c.cmd("PASS " + p.cfg.Users.Password); return err }); err != nil {
		return err
	}
	var n int
	if err := p.stats.timed("STAT", func() (err error) { n, _, err = c.stat(); return err }); err != nil {
		return err
	}
	if n == 0 {
		p.stats.observe("RETR", 0, errEmpty)
		return errEmpty
	}
	for k := 1; k <= n; k++ {
		before := c.received
		if err := p.stats.timed("RETR", func() error { return c.retr(k) }); err != nil {
			return err
		}
		p.stats.add("octets", uint64(c.received-before))
	}
	if err := p.stats.timed("QUIT", c.quit); err != nil {
		return err
	}
	p.stats.session()
	return nil
}

func (p *pop3Sessions) finish(r *WorkloadReport, window time.Duration) {
	r.Primary = Metric{"sessions/s", perSec(r.Sessions, window)}
	r.Extra = append(r.Extra,
		Metric{"RETR/s", perSec(commandCount(r, "RETR"), window)},
		Metric{"MB/s retrieved", perSec(p.stats.counter("octets"), window) / 1e6})
}

// smtpDelivery sends messages over SMTP or LMTP: each client keeps one
// connection and runs transactions of MAIL, RCPT for RcptPerMessage
// recipients, and DATA, over and over.
type smtpDelivery struct {
	*base
	nextRcpt atomic.Uint64
}

func (s *smtpDelivery) client(soft, hard context.Context, i int) {
	user := s.user(i)
	msg := newStampedMessage(Message(s.cfg.Seed, 4_000_000+i, "undisclosed-recipients:;", s.cfg.MessageSize))
	var seq uint64
	for soft.Err() == nil {
		var c *smtpClient
		err := s.stats.timed("CONNECT", func() (err error) {
			c, err = dialSMTP(hard, s.dialer, s.target, s.userBase+i, s.cfg.Timeout)
			return err
		})
		if err == nil && s.cfg.SMTPAuth {
			err = s.stats.timed("AUTH", func() error { return c.authPlain(user, s.cfg.Users.Password) })
			if err != nil {
				c.close()
			}
		}
		if err != nil {
			if !pause(soft) {
				return
			}
			continue
		}
		stop := watch(hard, c.conn)
		for soft.Err() == nil {
			seq++
			if err = s.transaction(c, user, msg.stamp(seq)); err != nil {
				break
			}
		}
		if err == nil {
			s.stats.timed("QUIT", c.quit)
		}
		stop()
		c.close()
		if err != nil && !pause(soft) {
			return
		}
	}
}

// transaction sends one message. A refused recipient or delivery is an
// error of its command but keeps the connection; a broken one ends it.
func (s *smtpDelivery) transaction(c *smtpClient, user string, msg []byte) error {
	from := "loadgen@example.net"
	if s.cfg.SMTPAuth {
		from = user
	}
	if err := s.stats.timed("MAIL", func() error { return c.expect("MAIL FROM:<"+from+">", 250) }); err != nil {
		return connErr(err)
	}
	n := s.cfg.RcptPerMessage
	first := s.nextRcpt.Add(uint64(n)) - uint64(n)
	accepted := 0
	for k := range n {
		rcpt := s.cfg.Recipients.Name(int((first + uint64(k)) % uint64(s.cfg.Recipients.Count)))
		err := s.stats.timed("RCPT", func() error { return c.expect("RCPT TO:<"+rcpt+">", 250) })
		if err != nil {
			if err := connErr(err); err != nil {
				return err
			}
			continue
		}
		accepted++
	}
	if accepted == 0 {
		return connErr(s.stats.timed("RSET", func() error { return c.expect("RSET", 250) }))
	}
	var delivered int
	err := s.stats.timed("DATA", func() (err error) {
		delivered, err = c.data(msg, accepted)
		return err
	})
	s.stats.add("recipients", uint64(delivered))
	if delivered > 0 {
		s.stats.add("messages", 1)
	}
	return connErr(err)
}

// connErr keeps errors that broke the connection; a refusal (a reply
// with a code) leaves it usable.
func connErr(err error) error {
	if _, ok := err.(*smtpError); ok {
		return nil
	}
	return err
}

func (s *smtpDelivery) finish(r *WorkloadReport, window time.Duration) {
	r.Primary = Metric{"deliveries/s", perSec(s.stats.counter("recipients"), window)}
	r.Extra = append(r.Extra, Metric{"messages/s", perSec(s.stats.counter("messages"), window)},
		Metric{"recipients per message", float64(s.cfg.RcptPerMessage)})
}
