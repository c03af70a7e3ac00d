//go:build linux

package crashtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"postfach/internal/imap/wire"
	"postfach/internal/store/sqlite"
)

// TestAppendSurvivesKill: eight clients APPEND over IMAPS as fast as the
// server acknowledges; the server is killed at a random moment; after the
// restart every acknowledged message is there, byte for byte, and nothing
// else but complete messages that were in flight.
//
// One message in 40 is larger than the spool threshold, so that kills
// also land while a literal is spooled to a temporary file.
func TestAppendSurvivesKill(t *testing.T) {
	runScenario(t, scenario{appenders: 8, minSize: 1 << 10, maxSize: 200 << 10, largeEvery: 40})
}

// TestChangesSurviveKill: besides four appenders, four clients change
// existing messages, each on its own share of INBOX: STORE, COPY, MOVE,
// and STORE \Deleted then UID EXPUNGE. Killed at a random moment, each
// command's effect is there if it was acknowledged, and all or nothing if
// it was in flight.
func TestChangesSurviveKill(t *testing.T) {
	runScenario(t, scenario{
		appenders: 4,
		mutators:  []opKind{opStore, opCopy, opMove, opExpunge},
		minSize:   1 << 10, maxSize: 32 << 10,
		preload: 240,
	})
}

// scenario is the load of one test.
type scenario struct {
	appenders        int
	mutators         []opKind
	minSize, maxSize int // message sizes, as sent
	// largeEvery makes one message in largeEvery (on average) larger
	// than the IMAP reader's spool threshold; 0 for none.
	largeEvery int
	preload    int // messages in INBOX before the first cycle
}

// messageSize picks the size of the next message of the scenario.
func (sc *scenario) messageSize(r *rand.Rand) int {
	if sc.largeEvery > 0 && r.IntN(sc.largeEvery) == 0 {
		return randomSize(r, wire.DefaultSpoolThreshold+1, 2*wire.DefaultSpoolThreshold)
	}
	return randomSize(r, sc.minSize, sc.maxSize)
}

// Load timing: the kill comes killMin to killMax after the first
// acknowledgement of a cycle.
const (
	killMin     = 500 * time.Millisecond
	killMax     = 2 * time.Second
	loadTimeout = 5 * time.Minute
)

func cycles(t *testing.T) int {
	if s := os.Getenv("POSTFACH_CRASH_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("POSTFACH_CRASH_CYCLES=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 1
	}
	return 3
}

func seed(t *testing.T) uint64 {
	if s := os.Getenv("POSTFACH_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("POSTFACH_CRASH_SEED=%q: want a number", s)
		}
		return n
	}
	return rand.Uint64()
}

func runScenario(t *testing.T, sc scenario) {
	n, sd := cycles(t), seed(t)
	t.Logf("seed %d (set POSTFACH_CRASH_SEED to replay the random choices), %d cycles, race detector %t", sd, n, raceEnabled)
	r := rand.New(rand.NewPCG(sd, 0))
	began := time.Now()

	in := newInstance(t, false)
	srv := in.start()
	m := newModel()
	c := mustLogin(t, srv)
	if _, err := c.do("CREATE " + copies); err != nil {
		t.Fatal(err)
	}
	c.close()
	mustVerify(t, in, srv, m, false, r)
	if sc.preload > 0 {
		m.startCycle()
		appendSequentially(t, srv, m, r, sc, sc.preload)
		mustVerify(t, in, srv, m, false, r)
	}

	var total cycleStats
	for cycle := 1; cycle <= n; cycle++ {
		start := time.Now()
		m.startCycle()
		l := &load{m: m, sc: sc, cycle: cycle, seed: sd, firstAck: make(chan struct{})}
		loadTime := runLoad(t, srv, l, r)
		restart := time.Now()
		srv = in.start()
		mustVerify(t, in, srv, m, false, r)
		st := m.stats
		t.Logf("cycle %d/%d: killed after %v of load; %s; restart and verification %v, cycle %v",
			cycle, n, loadTime.Round(time.Millisecond), &st, time.Since(restart).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		total.ackedMsgs += st.ackedMsgs
		total.ackedBytes += st.ackedBytes
		total.lostMsgs += st.lostMsgs
		for k := range opNames {
			total.acked[k] += st.acked[k]
			total.inFlight[k] += st.inFlight[k]
			total.survived[k] += st.survived[k]
		}
	}

	// After the last restart: new messages get UIDs above all seen before
	// the crash, and everything reads back in full.
	m.startCycle()
	appendSequentially(t, srv, m, r, sc, 5)
	mustVerify(t, in, srv, m, true, r)
	srv.stop()
	checkOffline(t, in, m)
	t.Logf("total over %d cycles: %s; %d messages lost in flight; %d distinct messages in the account, %d copies of which the original was moved or expunged; %v",
		n, &total, total.lostMsgs, m.contents(), m.orphanedCopies(), time.Since(began).Round(time.Millisecond))
}

// runLoad puts the server under the scenario's load, kills it killMin to
// killMax after the first acknowledgement, and returns when every worker
// has stopped.
func runLoad(t *testing.T, srv *child, l *load, r *rand.Rand) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	var workers []worker
	for i := range l.sc.appenders {
		workers = append(workers, l.appender(i))
	}
	for i, k := range l.sc.mutators {
		workers = append(workers, l.mutator(k, l.m.partition(i, len(l.sc.mutators), l.cycle)))
	}
	// Every client is logged in before the first command, so that the
	// load starts at once.
	clients := make([]*client, len(workers))
	for i := range clients {
		clients[i] = mustLogin(t, srv)
	}
	var wg sync.WaitGroup
	for i, w := range workers {
		wr := rand.New(rand.NewPCG(l.seed, uint64(l.cycle)<<8|uint64(i)))
		wg.Go(func() {
			defer clients[i].close()
			w(ctx, clients[i], wr)
		})
	}
	select {
	case <-l.firstAck:
	case <-time.After(startTimeout):
		t.Errorf("no command acknowledged within %v", startTimeout)
	}
	delay := killMin + time.Duration(r.Int64N(int64(killMax-killMin)))
	time.Sleep(delay)
	l.killed.Store(true)
	srv.crash()
	cancel()
	wg.Wait()
	return delay
}

// appendSequentially appends n messages over one connection, ten per
// MULTIAPPEND, without a crash.
func appendSequentially(t *testing.T, srv *child, m *model, r *rand.Rand, sc scenario, n int) {
	t.Helper()
	c := mustLogin(t, srv)
	defer c.close()
	for i := 0; i < n; {
		o := &op{kind: opAppend}
		var items []appendItem
		for ; i < n && len(items) < 10; i++ {
			id := fmt.Sprintf("seq%d-%x", i, r.Uint32())
			raw := newMessage(r, id, sc.messageSize(r))
			flags := randomFlags(r, appendFlags)
			items = append(items, appendItem{flags: flags, data: raw})
			o.msgs = append(o.msgs, describe(id, raw, flags))
		}
		m.begin(o)
		uv, uids, err := c.appendMessages(inbox, items, false)
		if err != nil {
			t.Fatalf("APPEND: %v", err)
		}
		m.ackAppend(o, uv, uids)
	}
}

func mustLogin(t *testing.T, srv *child) *client {
	t.Helper()
	c, err := dialIMAP(srv.imaps, true)
	if err != nil {
		t.Fatalf("dialing %s: %v", srv.imaps, err)
	}
	if err := c.login(testUser, testPassword); err != nil {
		c.close()
		t.Fatalf("LOGIN: %v", err)
	}
	return c
}

// bodySample is how many bodies of messages already verified are read
// again per mailbox and verification, so that a blob lost or damaged
// later (by garbage collection, say) is likely caught before the final,
// full reading.
const bodySample = 24

// mustVerify reads the whole account over a new session, reconciles the
// model with it, and fails the test at any problem. full reads every
// body; otherwise the bodies of new messages and a sample of the others.
func mustVerify(t *testing.T, in *instance, srv *child, m *model, full bool, r *rand.Rand) {
	t.Helper()
	c := mustLogin(t, srv)
	defer c.close()
	obs := map[string]*observedBox{}
	for _, name := range []string{inbox, archive, copies} {
		sample := bodySample
		ob, err := observe(c, name, func(uid uint32) bool {
			if full || !m.known(name, uid) {
				return true
			}
			if sample > 0 && r.IntN(8) == 0 {
				sample--
				return true
			}
			return false
		})
		if err != nil {
			t.Fatalf("reading %s: %v", name, err)
		}
		obs[name] = ob
	}
	problems := m.reconcile(obs)
	// Spooled literals are unlinked as soon as they are created: the
	// spool directory stays empty, also after a crash.
	if ents, err := os.ReadDir(filepath.Join(in.dataDir, "tmp")); err == nil && len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		problems = append(problems, fmt.Sprintf("spool directory not empty: %v", names))
	}
	if len(problems) > 0 {
		const show = 40
		more := ""
		if len(problems) > show {
			more = fmt.Sprintf("\n... and %d more", len(problems)-show)
			problems = problems[:show]
		}
		t.Fatalf("%d problems after restart:\n%s%s", len(problems), strings.Join(problems, "\n"), more)
	}
}

// known reports whether the model has the message.
func (m *model) known(name string, uid uint32) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.boxes[name].msgs[uid] != nil
}

// bodyBatch is how many bodies one UID FETCH asks for.
const bodyBatch = 40

// observe reads a mailbox: STATUS, then every message's UID, size and
// flags, then the bodies of those needBody selects.
func observe(c *client, name string, needBody func(uint32) bool) (*observedBox, error) {
	st, err := c.status(name, "MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE")
	if err != nil {
		return nil, err
	}
	ob := &observedBox{status: st, msgs: map[uint32]*observedMsg{}}
	if _, err := c.do("EXAMINE " + name); err != nil {
		return nil, err
	}
	res, err := c.do("UID FETCH 1:* (UID RFC822.SIZE FLAGS)")
	if err != nil {
		return nil, err
	}
	for _, l := range res.untagged {
		f, ok, err := parseFetch(l)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if !f.has.size || !f.has.flags {
			return nil, fmt.Errorf("FETCH response without RFC822.SIZE or FLAGS: %q", l.text)
		}
		if ob.msgs[f.uid] != nil {
			return nil, fmt.Errorf("UID %d reported twice", f.uid)
		}
		ob.msgs[f.uid] = &observedMsg{size: f.size, flags: f.flags}
	}
	var want []uint32
	for _, u := range slices.Sorted(maps.Keys(ob.msgs)) {
		if needBody(u) {
			want = append(want, u)
		}
	}
	for len(want) > 0 {
		batch := want[:min(len(want), bodyBatch)]
		want = want[len(batch):]
		cmd := "UID FETCH " + formatUIDs(batch) + " (UID BODY.PEEK[])"
		res, err := c.do(cmd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (a blob missing or shorter than its row says?)", cmd, err)
		}
		for _, l := range res.untagged {
			f, ok, err := parseFetch(l)
			if err != nil {
				return nil, err
			}
			if !ok || !f.has.body {
				continue
			}
			om := ob.msgs[f.uid]
			if om == nil {
				return nil, fmt.Errorf("body of UID %d, which the first FETCH did not list", f.uid)
			}
			if int64(len(f.body)) != om.size {
				return nil, fmt.Errorf("UID %d: BODY[] has %d octets, RFC822.SIZE says %d", f.uid, len(f.body), om.size)
			}
			om.sum, om.haveSum = sha256.Sum256(f.body), true
		}
		for _, u := range batch {
			if !ob.msgs[u].haveSum {
				return nil, fmt.Errorf("UID %d: no body returned", u)
			}
		}
	}
	return ob, nil
}

// checkOffline runs, with the server stopped, what only the data
// directory can tell: garbage collection finds no more orphan blobs than
// appends were lost in flight, every blob file left belongs to a message,
// and the database passes SQLite's integrity check.
func checkOffline(t *testing.T, in *instance, m *model) {
	t.Helper()
	ctx := context.Background()
	lock, err := sqlite.LockDataDir(in.dataDir)
	if err != nil {
		t.Fatalf("locking the data directory after the server stopped: %v", err)
	}
	defer lock.Close()
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: in.dataDir})
	if err != nil {
		t.Fatal(err)
	}
	gc, err := st.CollectGarbage(ctx, lock, sqlite.GCOptions{MinAge: -1})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	lost := m.lost
	m.mu.Unlock()
	t.Logf("final garbage collection: %+v; %d messages were lost in flight", gc, lost)
	if gc.Orphans > lost {
		t.Errorf("%d orphan blob files, but only %d appends were lost in flight", gc.Orphans, lost)
	}

	files := 0
	err = filepath.WalkDir(filepath.Join(in.dataDir, sqlite.BlobDirName), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := m.contents(); files != want {
		t.Errorf("%d blob files after garbage collection, but the account holds %d distinct messages", files, want)
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(in.dataDir, sqlite.DBName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Errorf("PRAGMA integrity_check: %q, %v", res, err)
	}
	rows, err := db.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Errorf("PRAGMA foreign_key_check reports violations")
	}
}
