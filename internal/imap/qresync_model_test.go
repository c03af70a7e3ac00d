package imap_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"postfach/internal/imaptest"
)

// The model-based QRESYNC test (RFC 7162): workers change one account at
// random (append, store, copy, move, expunge, rename) while a client that
// keeps a cache reconnects now and then and resynchronizes with SELECT
// (QRESYNC ...). At the end its cache must equal the server's state, UIDs
// must never come back after they vanished, and MODSEQs must only grow.

// rawConn is a minimal IMAP client for worker goroutines: it returns
// errors instead of failing the test, which only the test goroutine may
// do.
type rawConn struct {
	conn net.Conn
	br   *bufio.Reader
	n    int
}

func dialRaw(addr string) (*rawConn, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, imaptest.ClientTLS())
	if err != nil {
		return nil, err
	}
	c := &rawConn{conn: conn, br: bufio.NewReader(conn)}
	if _, err := c.br.ReadString('\n'); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// do sends one command and returns its untagged lines (without "* ") and
// the tagged status and text. Responses here carry no literals.
func (c *rawConn) do(format string, args ...any) (untagged []string, status, text string, err error) {
	c.n++
	tag := "w" + strconv.Itoa(c.n)
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(c.conn, "%s %s\r\n", tag, fmt.Sprintf(format, args...)); err != nil {
		return nil, "", "", err
	}
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return nil, "", "", err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "* "):
			untagged = append(untagged, line[2:])
		case strings.HasPrefix(line, tag+" "):
			status, text, _ = strings.Cut(line[len(tag)+1:], " ")
			return untagged, status, text, nil
		}
	}
}

var (
	fetchUIDRE   = regexp.MustCompile(`^\d+ FETCH \(.*UID (\d+)`)
	fetchFlagsRE = regexp.MustCompile(`FLAGS \(([^)]*)\)`)
	fetchModRE   = regexp.MustCompile(`MODSEQ \((\d+)\)`)
	searchRE     = regexp.MustCompile(`^SEARCH((?: \d+)*)`)
)

// uidsIn lists the UIDs of a "SEARCH n n n" line among untagged.
func uidsIn(untagged []string) []uint32 {
	var out []uint32
	for _, l := range untagged {
		if m := searchRE.FindStringSubmatch(l); m != nil {
			for _, f := range strings.Fields(m[1]) {
				n, _ := strconv.ParseUint(f, 10, 32)
				out = append(out, uint32(n))
			}
		}
	}
	return out
}

// worker performs n random operations.
func worker(addr string, seed uint64, n int) error {
	rnd := rand.New(rand.NewPCG(seed, 99))
	c, err := dialRaw(addr)
	if err != nil {
		return err
	}
	defer c.conn.Close()
	if _, st, txt, err := c.do("LOGIN alice@example.org %s", imaptest.Password); err != nil || st != "OK" {
		return fmt.Errorf("login: %s %s %v", st, txt, err)
	}
	boxes := []string{"INBOX", "Work"}
	flags := []string{`\Seen`, `\Flagged`, `\Answered`, `$Label1`, `$Label2`}
	for i := range n {
		box := boxes[rnd.IntN(len(boxes))]
		other := boxes[1-slices.Index(boxes, box)]
		check := func(untagged []string, st, txt string, err error) error {
			if err != nil {
				return err
			}
			if st != "OK" {
				return fmt.Errorf("op %d in %s: %s %s", i, box, st, txt)
			}
			return nil
		}
		op := rnd.IntN(10)
		if op < 3 {
			msg := fmt.Sprintf("Subject: w%d-%d\r\n\r\nbody\r\n", seed, i)
			if err := check(c.do("APPEND %s {%d+}\r\n%s", box, len(msg), msg)); err != nil {
				return err
			}
			continue
		}
		if op == 9 {
			// RENAME a mailbox the resyncing client does not track back
			// and forth, with a message in it.
			u, st, txt, err := c.do(`LIST "" "Tmp*"`)
			if err := check(u, st, txt, err); err != nil {
				return err
			}
			from, to := "Tmp", "Tmp2"
			if strings.Join(u, "") == "" {
				// Another worker may create it first: a NO is fine.
				if _, _, _, err := c.do("CREATE Tmp"); err != nil {
					return err
				}
			} else if strings.Contains(strings.Join(u, ""), "Tmp2") {
				from, to = to, from
			}
			// Another worker may have renamed it just now: a NO is fine.
			if _, _, _, err := c.do("RENAME %s %s", from, to); err != nil {
				return err
			}
			continue
		}
		if err := check(c.do("SELECT %s", box)); err != nil {
			return err
		}
		u, st, txt, err := c.do("UID SEARCH ALL")
		if err := check(u, st, txt, err); err != nil {
			return err
		}
		uids := uidsIn(u)
		if len(uids) == 0 {
			continue
		}
		pick := func() string {
			k := 1 + rnd.IntN(min(3, len(uids)))
			var set []string
			for range k {
				set = append(set, strconv.FormatUint(uint64(uids[rnd.IntN(len(uids))]), 10))
			}
			return strings.Join(set, ",")
		}
		switch op {
		case 3, 4, 5:
			sign := []string{"+", "-", ""}[rnd.IntN(3)]
			err = check(c.do("UID STORE %s %sFLAGS.SILENT (%s)", pick(), sign, flags[rnd.IntN(len(flags))]))
		case 6:
			err = check(c.do("UID COPY %s %s", pick(), other))
		case 7:
			err = check(c.do("UID MOVE %s %s", pick(), other))
		case 8:
			set := pick()
			if err = check(c.do("UID STORE %s +FLAGS.SILENT (\\Deleted)", set)); err == nil {
				err = check(c.do("UID EXPUNGE %s", set))
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// cachedBox is the resyncing client's cache of one mailbox.
type cachedBox struct {
	uidValidity uint64
	highest     uint64
	flags       map[uint32]string // UID -> sorted flags
	modseq      map[uint32]uint64
	vanished    map[uint32]bool // every UID reported gone
	// seenMax is the highest UID ever seen, sessionMax its value when the
	// current session began: a UID first seen now must be above it.
	seenMax, sessionMax uint32
}

// resyncer is the QRESYNC client. It runs on the test goroutine.
type resyncer struct {
	// late counts UIDs first seen below one already seen.
	late  int
	t     *testing.T
	env   *imaptest.Env
	boxes map[string]*cachedBox
}

// sortedFlags canonicalizes a flag list, without \Recent: it belongs to
// one session, not to the message.
func sortedFlags(s string) string {
	f := slices.DeleteFunc(strings.Fields(s), func(x string) bool { return x == `\Recent` })
	slices.Sort(f)
	return strings.Join(f, " ")
}

// apply folds untagged responses into the cache of box.
func (r *resyncer) apply(box string, untagged []string) (exists bool) {
	t := r.t
	b := r.boxes[box]
	for _, l := range untagged {
		switch {
		case strings.HasPrefix(l, "VANISHED "):
			set := strings.TrimPrefix(strings.TrimPrefix(l, "VANISHED "), "(EARLIER) ")
			for _, u := range expandUIDs(t, set) {
				delete(b.flags, u)
				delete(b.modseq, u)
				b.vanished[u] = true
			}
		case strings.Contains(l, " EXPUNGE"):
			t.Fatalf("%s: EXPUNGE with QRESYNC enabled: %q", box, l)
		case strings.HasSuffix(l, " EXISTS"):
			exists = true
		case strings.HasPrefix(l, "OK [HIGHESTMODSEQ "):
			h, _ := strconv.ParseUint(strings.TrimSuffix(strings.Fields(l)[2], "]"), 10, 64)
			if h < b.highest {
				t.Fatalf("%s: HIGHESTMODSEQ went down from %d to %d", box, b.highest, h)
			}
			b.highest = h
		default:
			m := fetchUIDRE.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			u64, _ := strconv.ParseUint(m[1], 10, 32)
			u := uint32(u64)
			if b.vanished[u] {
				t.Fatalf("%s: UID %d came back after it vanished: %q", box, u, l)
			}
			mod := fetchModRE.FindStringSubmatch(l)
			if mod == nil {
				t.Fatalf("%s: FETCH without MODSEQ under QRESYNC: %q", box, l)
			}
			ms, _ := strconv.ParseUint(mod[1], 10, 64)
			if ms < b.modseq[u] {
				t.Fatalf("%s: MODSEQ of UID %d went down from %d to %d", box, u, b.modseq[u], ms)
			}
			b.modseq[u] = ms
			if _, known := b.flags[u]; !known && u <= b.sessionMax {
				// A message the client missed earlier can show up in a
				// later resync below UIDs it has; counted, not fatal (see
				// lateUIDs). Reuse of UIDs is caught by the vanished check.
				r.late++
			}
			b.seenMax = max(b.seenMax, u)
			if f := fetchFlagsRE.FindStringSubmatch(l); f != nil {
				b.flags[u] = sortedFlags(f[1])
			} else if _, ok := b.flags[u]; !ok {
				t.Fatalf("%s: FETCH for a new UID %d without FLAGS: %q", box, u, l)
			}
		}
	}
	return exists
}

func expandUIDs(t *testing.T, set string) []uint32 {
	var out []uint32
	for _, part := range strings.Split(set, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err1 := strconv.ParseUint(lo, 10, 32)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.ParseUint(hi, 10, 32)
		}
		if err1 != nil || err2 != nil {
			t.Fatalf("bad UID set %q", set)
		}
		for u := min(a, b); u <= max(a, b); u++ {
			out = append(out, uint32(u))
		}
	}
	return out
}

// maxUID returns the highest cached UID.
func (b *cachedBox) maxUID() uint32 {
	var m uint32
	for u := range b.flags {
		m = max(m, u)
	}
	return m
}

// fetchNew fetches the messages above the cache's newest UID, again as
// long as the answer announces more (EXISTS can come with any response):
// a client that ignored one would learn of the message only in a later
// session, below UIDs it already has.
func (r *resyncer) fetchNew(c *imaptest.Client, box string) {
	for {
		if !r.apply(box, c.MustOK(fmt.Sprintf("UID FETCH %d:* (FLAGS MODSEQ)", r.boxes[box].maxUID()+1)).Untagged) {
			return
		}
	}
}

// session connects, resyncs every box, polls a few times, and logs out.
func (r *resyncer) session(polls int) {
	t := r.t
	c := imaptest.Login(t, r.env, "alice@example.org")
	c.MustOK("ENABLE QRESYNC")
	for _, box := range []string{"INBOX", "Work"} {
		b := r.boxes[box]
		var res *imaptest.Response
		if b == nil {
			b = &cachedBox{flags: map[uint32]string{}, modseq: map[uint32]uint64{}, vanished: map[uint32]bool{}}
			r.boxes[box] = b
			res = c.MustOK("SELECT " + box)
		} else {
			res = c.MustOK(fmt.Sprintf("SELECT %s (QRESYNC (%d %d))", box, b.uidValidity, b.highest))
		}
		b.sessionMax = b.seenMax
		uv := res.Find("OK [UIDVALIDITY ")
		v, _ := strconv.ParseUint(strings.TrimSuffix(strings.Fields(uv)[2], "]"), 10, 32)
		if b.uidValidity != 0 && v != b.uidValidity {
			t.Fatalf("%s: UIDVALIDITY changed", box)
		}
		b.uidValidity = v
		r.apply(box, res.Untagged)
		// New messages since the cache's newest UID.
		r.fetchNew(c, box)
		for range polls {
			time.Sleep(5 * time.Millisecond)
			if r.apply(box, c.MustOK("NOOP").Untagged) {
				r.fetchNew(c, box)
			}
		}
	}
	c.MustOK("LOGOUT")
}

func TestQResyncModel(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	setup := imaptest.Login(t, env, "alice@example.org")
	setup.MustOK("CREATE Work")
	for i := range 20 {
		setup.Append([]string{"INBOX", "Work"}[i%2], "", fmt.Sprintf("Subject: seed %d\r\n\r\nseed\r\n", i))
	}
	setup.MustOK("LOGOUT")

	const workers, ops = 4, 150
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	done := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- worker(env.IMAPS, uint64(w+1), ops)
		}()
	}
	go func() { wg.Wait(); close(done) }()

	r := &resyncer{t: t, env: env, boxes: map[string]*cachedBox{}}
	sessions := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		r.session(3)
		sessions++
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// One last resync after the workers stopped, then compare with what a
	// fresh client sees.
	r.session(0)
	check := imaptest.Login(t, env, "alice@example.org")
	for _, box := range []string{"INBOX", "Work"} {
		check.MustOK("EXAMINE " + box)
		want := map[uint32]string{}
		for _, l := range check.MustOK("UID FETCH 1:* (FLAGS)").Untagged {
			m := fetchUIDRE.FindStringSubmatch(l)
			f := fetchFlagsRE.FindStringSubmatch(l)
			if m == nil || f == nil {
				continue
			}
			u, _ := strconv.ParseUint(m[1], 10, 32)
			want[uint32(u)] = sortedFlags(f[1])
		}
		got := r.boxes[box].flags
		if !maps.Equal(got, want) {
			for u, f := range want {
				if g, ok := got[u]; !ok || g != f {
					t.Errorf("%s UID %d: cache has %q (present %v), server %q", box, u, g, ok, f)
				}
			}
			for u := range got {
				if _, ok := want[u]; !ok {
					t.Errorf("%s UID %d: in the cache, gone from the server", box, u)
				}
			}
			t.Fatalf("%s: resynced cache differs from the server (%d vs %d messages)", box, len(got), len(want))
		}
		t.Logf("%s: %d messages agree after %d resync sessions; %d UIDs vanished; %d UIDs first seen late", box, len(want), sessions, len(r.boxes[box].vanished), r.late)
	}
}
