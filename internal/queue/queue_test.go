package queue

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"postfach/internal/blob"
	"postfach/internal/dns/dnstest"
)

func TestEnvelopeCheck(t *testing.T) {
	tests := []struct {
		name string
		env  Envelope
		err  string
	}{
		{name: "plain", env: Envelope{From: "a@example.org", To: []Recipient{{Addr: "b@Example.NET"}}}},
		{name: "null sender", env: Envelope{From: "", To: []Recipient{{Addr: "b@example.net"}}}},
		{name: "quoted local part", env: Envelope{From: `"a b"@example.org`, To: []Recipient{{Addr: "b@example.net"}}}},
		{name: "utf-8", env: Envelope{From: "jürgen@example.org", To: []Recipient{{Addr: "ü@exämple.net"}}}},
		{name: "no recipients", env: Envelope{From: "a@example.org"}, err: "no recipients"},
		{name: "duplicate", env: Envelope{To: []Recipient{{Addr: "b@example.net"}, {Addr: "b@EXAMPLE.net"}}}, err: "twice"},
		{name: "bad RET", env: Envelope{RET: "BODY", To: []Recipient{{Addr: "b@example.net"}}}, err: "RET"},
		{name: "bad ENVID", env: Envelope{ENVID: "a\x01", To: []Recipient{{Addr: "b@example.net"}}}, err: "ENVID"},
		{name: "no domain", env: Envelope{To: []Recipient{{Addr: "b@"}}}, err: "local-part@domain"},
		{name: "no at", env: Envelope{To: []Recipient{{Addr: "b"}}}, err: "local-part@domain"},
		{name: "CRLF", env: Envelope{To: []Recipient{{Addr: "b@example.net\r\nRCPT TO:<x@y>"}}}, err: "control"},
		{name: "bracket", env: Envelope{From: "a>@b", To: []Recipient{{Addr: "b@example.net"}}}, err: "angle"},
		{name: "space", env: Envelope{To: []Recipient{{Addr: "a b@example.net"}}}, err: "space"},
		{name: "never+", env: Envelope{To: []Recipient{{Addr: "b@example.net", Notify: NotifyNever | NotifyDelay}}}, err: "NEVER"},
		{name: "orcpt half", env: Envelope{To: []Recipient{{Addr: "b@example.net", ORCPT: "x@y"}}}, err: "ORCPT"},
		{name: "orcpt type", env: Envelope{To: []Recipient{{Addr: "b@example.net", ORCPTType: "x400", ORCPT: "x"}}}, err: "ORCPT"},
		{name: "long", env: Envelope{To: []Recipient{{Addr: strings.Repeat("a", 250) + "@example.net"}}}, err: "too long"},
	}
	for _, tt := range tests {
		got, err := tt.env.check()
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: got %v, want an error about %q", tt.name, err, tt.err)
		case err == nil:
			for _, r := range got.To {
				if _, d := splitAddr(r.Addr); d != strings.ToLower(d) {
					t.Errorf("%s: domain not lower-cased: %s", tt.name, r.Addr)
				}
			}
		}
	}
}

func TestParseNotify(t *testing.T) {
	n, err := ParseNotify("success", "FAILURE,delay")
	if err != nil || n != NotifySuccess|NotifyFailure|NotifyDelay || n.String() != "SUCCESS,FAILURE,DELAY" {
		t.Errorf("got %v %v", n, err)
	}
	if n, err := ParseNotify("NEVER"); err != nil || n != NotifyNever {
		t.Errorf("NEVER: %v %v", n, err)
	}
	for _, bad := range [][]string{{"NEVER", "DELAY"}, {"SOMETIMES"}} {
		if _, err := ParseNotify(bad...); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	var zero Notify
	if !zero.wants(NotifyFailure) || !zero.wants(NotifyDelay) || zero.wants(NotifySuccess) {
		t.Error("default NOTIFY is FAILURE,DELAY")
	}
}

func TestBackoff(t *testing.T) {
	q := &Queue{opts: Options{BackoffInitial: 5 * time.Minute, BackoffMax: 4 * time.Hour}}
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute, 160 * time.Minute, 4 * time.Hour, 4 * time.Hour}
	for i, w := range want {
		for range 20 {
			got := q.backoff(i + 1)
			if got < w*9/10 || got > w*11/10 {
				t.Errorf("backoff(%d) = %v, want %v within 10%%", i+1, got, w)
			}
		}
	}
	if got := q.backoff(1000); got > 4*time.Hour*11/10 {
		t.Errorf("backoff(1000) = %v", got)
	}
}

func TestHeaderValue(t *testing.T) {
	h := []byte("Subject: x\r\nTLS-Required:\r\n  No\r\nX: y\r\n\r\n")
	if v, ok := headerValue(h, "tls-required"); !ok || v != "No" {
		t.Errorf("got %q %v", v, ok)
	}
	if _, ok := headerValue(h, "From"); ok {
		t.Error("found a missing field")
	}
}

// Enqueue is durable when it returns: the rows and the spool file are
// there after the queue is closed and opened again, and nothing is left
// of an Enqueue that failed.
func TestEnqueueDurableAndAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "queue")
	ffs := blob.NewFaultFS(blob.OSFS())
	q, err := Open(dir, Options{FS: ffs})
	if err != nil {
		t.Fatal(err)
	}
	msg := testMessage("a@local.test", "b@remote.test", "durable")
	env := Envelope{From: "a@local.test", To: []Recipient{{Addr: "b@remote.test"}}}
	id, err := q.Enqueue(context.Background(), env, bytes.NewReader(msg), int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	// An fsync that fails: Enqueue fails and leaves nothing.
	ffs.SetInject(func(op blob.Op, path string) error {
		if op == blob.OpSync {
			return errors.New("injected fsync failure")
		}
		return nil
	})
	if _, err := q.Enqueue(context.Background(), env, bytes.NewReader(msg), int64(len(msg))); err == nil {
		t.Fatal("Enqueue succeeded although the spool file's fsync failed")
	}
	ffs.SetInject(nil)
	// A short reader: refused, nothing left.
	if _, err := q.Enqueue(context.Background(), env, bytes.NewReader(msg), int64(len(msg))+10); err == nil {
		t.Fatal("Enqueue of a truncated message succeeded")
	}
	q.Close()

	q, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	l, err := q.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 1 || l[0].ID != id || l[0].Size != int64(len(msg)) || l[0].From != "a@local.test" || l[0].Recipients[0].Addr != "b@remote.test" {
		t.Fatalf("after reopening: %+v", l)
	}
	files := spoolFiles(t, q)
	if len(files) != 1 {
		t.Fatalf("spool files: %v", files)
	}
	r, err := q.spool.Open(context.Background(), files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make([]byte, r.Size())
	r.ReadAt(got, 0)
	if !bytes.Equal(got, msg) {
		t.Errorf("spool file %q", got)
	}
}

func spoolFiles(t *testing.T, q *Queue) []string {
	t.Helper()
	var names []string
	if err := q.spool.Walk(context.Background(), func(name string, _ time.Time) error {
		names = append(names, name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return names
}

// Start removes what a crash left: spool files without rows, but not the
// files of messages being queued right now.
func TestStartCollectsOrphans(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	w, err := q.spool.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("orphan"))
	w.Commit()
	orphan := w.Name()
	p := filepath.Join(dir, SpoolDirName, orphan)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(p, old, old)
	q.Close()

	q2, err := Open(dir, Options{Resolver: dnstest.Resolver(t, testZone), NoSync: true, SMTPPort: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	// A message queued before Start keeps its file.
	msg := testMessage("a@local.test", "b@remote.test", "x")
	if _, err := q2.Enqueue(context.Background(), Envelope{From: "a@local.test", To: []Recipient{{Addr: "b@remote.test"}}}, bytes.NewReader(msg), int64(len(msg))); err != nil {
		t.Fatal(err)
	}
	if err := q2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	files := spoolFiles(t, q2)
	if len(files) != 1 || files[0] == orphan {
		t.Fatalf("spool after Start: %v (orphan %s)", files, orphan)
	}
}

// BenchmarkEnqueue measures durable enqueues (fsync on) from 8
// concurrent callers, sharing group commits; b.N is messages.
func BenchmarkEnqueue(b *testing.B) {
	for _, size := range []int{10 << 10} {
		b.Run("10KiB-8senders", func(b *testing.B) {
			q, err := Open(filepath.Join(b.TempDir(), "queue"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			msg := append([]byte("From: <a@local.test>\r\nSubject: bench\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), size/64)...)
			env := Envelope{From: "a@local.test", To: []Recipient{{Addr: "b@remote.test"}}}
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			var wg sync.WaitGroup
			next := make(chan struct{})
			go func() {
				for i := 0; i < b.N; i++ {
					next <- struct{}{}
				}
				close(next)
			}()
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range next {
						if _, err := q.Enqueue(context.Background(), env, bytes.NewReader(msg), int64(len(msg))); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
	b.Run("10KiB-1sender", func(b *testing.B) {
		q, err := Open(filepath.Join(b.TempDir(), "queue"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer q.Close()
		msg := append([]byte("From: <a@local.test>\r\nSubject: bench\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 160)...)
		env := Envelope{From: "a@local.test", To: []Recipient{{Addr: "b@remote.test"}}}
		b.SetBytes(int64(len(msg)))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := q.Enqueue(context.Background(), env, bytes.NewReader(msg), int64(len(msg))); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// FuzzEnvelopeCheck: whatever an envelope holds, what passes the check
// can be written as SMTP command lines without breaking out of them.
func FuzzEnvelopeCheck(f *testing.F) {
	f.Add("a@example.org", "b@example.net", "rfc822", "b@example.net", "id")
	f.Add("", "\"a b\"@x", "", "", "")
	f.Add("a@b", "c@d\r\nRCPT TO:<e@f>", "", "", "")
	f.Fuzz(func(t *testing.T, from, to, orcptType, orcpt, envid string) {
		env, err := Envelope{From: from, ENVID: envid, To: []Recipient{{Addr: to, ORCPTType: orcptType, ORCPT: orcpt}}}.check()
		if err != nil {
			return
		}
		for _, s := range []string{env.From, env.To[0].Addr, env.To[0].ORCPT, env.ENVID} {
			if strings.ContainsAny(s, "\r\n\x00") {
				t.Fatalf("accepted a line break or NUL: %q", s)
			}
		}
		if strings.ContainsAny(env.From+env.To[0].Addr, "<>") {
			t.Fatalf("accepted an angle bracket: %q %q", env.From, env.To[0].Addr)
		}
	})
}

// BenchmarkDeliver measures the queue draining to one remote domain over
// loopback SMTP with STARTTLS, fsync on: b.N messages of 10 KiB, queued
// first, then delivered with the default concurrency (4 connections to
// one domain). It reports delivered messages per second.
func BenchmarkDeliver(b *testing.B) {
	e := newEnv(b, envOptions{opts: func(o *Options) {
		o.NoSync = false
		o.Logger = nil
	}})
	msg := append([]byte("From: <a@local.test>\r\nSubject: bench\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 160)...)
	// Queue without delivering: a second, unstarted handle.
	e.q.Close()
	q, err := Open(e.dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, err := q.Enqueue(context.Background(), Envelope{From: "a@local.test", To: []Recipient{{Addr: "b@remote.test"}}}, bytes.NewReader(msg), int64(len(msg))); err != nil {
			b.Fatal(err)
		}
	}
	q.Close()
	b.ResetTimer()
	e.open()
	for {
		var n int
		if err := e.q.rdb.QueryRow("SELECT COUNT(*) FROM messages").Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	if n := len(e.remote.messages()); n != b.N {
		b.Fatalf("remote got %d of %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// Domains travel in A-labels: an address whose only non-ASCII part is its
// domain needs no SMTPUTF8.
func TestIDNDomains(t *testing.T) {
	env, err := Envelope{From: "a@Bücher.example", To: []Recipient{{Addr: "b@MÜNCHEN.example"}, {Addr: "jürgen@münchen.example"}}}.check()
	if err != nil {
		t.Fatal(err)
	}
	if env.From != "a@xn--bcher-kva.example" || env.To[0].Addr != "b@xn--mnchen-3ya.example" || env.To[1].Addr != "jürgen@xn--mnchen-3ya.example" {
		t.Errorf("got %q %q %q", env.From, env.To[0].Addr, env.To[1].Addr)
	}
}
