// Command issue6 compares postfach with Debian's Dovecot 2.3 on what
// issue 6 asks to report: QRESYNC resync after 10 flag changes in
// mailboxes of 1,000, 10,000 and 100,000 messages, SORT by date and by
// subject, THREAD=REFERENCES, and SEARCH BODY and TEXT over 100,000
// messages, against Dovecot without a full-text index (it reads the
// messages) and with Debian's dovecot-fts-xapian.
//
// Both servers hold the same messages: the 100k fixture of
// internal/benchtest (built with `go test -bench`, see run.sh), served by
// `postfach serve` from a copy, and copied message for message (same
// UIDs, flags, keywords and internal dates) into a Maildir for Dovecot.
// Each workload runs once cold, then -rounds times against each server in
// turn; the table shows medians. Run it as root (Dovecot's mail processes
// run as nobody), on a machine with nothing else to do: see run.sh.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"postfach/bench/internal/serverproc"
	"postfach/internal/store/sqlite"
)

const (
	fixtureUser = "big@example.org"
	fixturePass = "secret" // imaptest.Password, which the fixture's account has
	fixtureSize = 100_000
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s issue6: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func main() {
	fixture := flag.String("fixture", "", "the 100k fixture of internal/benchtest (POSTFACH_BENCH_FIXTURE)")
	dir := flag.String("dir", "", "scratch directory (default: a new one under $TMPDIR, removed afterwards)")
	rounds := flag.Int("rounds", 5, "measured runs of each workload on each server")
	skipFTS := flag.Bool("no-xapian", false, "skip the runs against Dovecot with fts-xapian")
	reuse := flag.Bool("reuse", false, "reuse the data of an earlier run in -dir (fixture copy, Maildir, Xapian index)")
	flag.Parse()
	if *fixture == "" {
		fmt.Fprintln(os.Stderr, "usage: issue6 -fixture DIR [-dir DIR] [-rounds N]; see run.sh")
		os.Exit(2)
	}
	if *reuse && *dir == "" {
		fmt.Fprintln(os.Stderr, "-reuse needs -dir")
		os.Exit(2)
	}
	if err := run(*fixture, *dir, *rounds, !*skipFTS, *reuse); err != nil {
		logf("%v", err)
		os.Exit(1)
	}
}

func run(fixture, dir string, rounds int, xapian, reuse bool) error {
	ctx := context.Background()
	if dir == "" {
		d, err := os.MkdirTemp("", "issue6-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if err := serverproc.WriteCertificate(filepath.Join(dir, "tls")); err != nil {
		return err
	}
	logf("building postfach")
	bin := filepath.Join(dir, "postfach")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/postfach").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "postfach-data")
	if _, err := os.Stat(data); err == nil && reuse {
		logf("reusing %s", data)
	} else {
		os.RemoveAll(data)
		logf("copying the fixture %s", fixture)
		if out, err := exec.Command("cp", "-a", fixture, data).CombinedOutput(); err != nil {
			return fmt.Errorf("cp: %v\n%s", err, out)
		}
	}
	mailUser, err := user.Lookup("nobody")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(mailUser.Uid)
	gid, _ := strconv.Atoi(mailUser.Gid)
	dv := &dovecot{dir: filepath.Join(dir, "dovecot"), template: "bench/issue6/dovecot.conf.tmpl", user: fixtureUser, pass: fixturePass, mailUser: mailUser}
	mailDir := filepath.Join(dv.dir, "mail")
	maildir := filepath.Join(mailDir, fixtureUser, "Maildir")
	if _, err := os.Stat(maildir); err == nil && reuse {
		logf("reusing %s", maildir)
	} else {
		os.RemoveAll(dv.dir)
		if err := os.MkdirAll(mailDir, 0o755); err != nil {
			return err
		}
		if err := os.Chown(mailDir, uid, gid); err != nil {
			return err
		}
		logf("writing the Maildir")
		start := time.Now()
		n, err := writeMaildir(ctx, data, fixtureUser, maildir, uid, gid)
		if err != nil {
			return err
		}
		if n != fixtureSize {
			return fmt.Errorf("the fixture's INBOX has %d messages, want %d", n, fixtureSize)
		}
		logf("%d messages in %v", n, time.Since(start).Round(time.Second))
	}
	os.RemoveAll(filepath.Join(dv.dir, "tls"))
	if out, err := exec.Command("cp", "-a", filepath.Join(dir, "tls"), filepath.Join(dv.dir, "tls")).CombinedOutput(); err != nil {
		return fmt.Errorf("cp: %v\n%s", err, out)
	}

	pf, err := startPostfach(bin, dir, data)
	if err != nil {
		return err
	}
	defer pf.stop()
	dc, err := dv.start()
	if err != nil {
		return err
	}
	defer func() { dc.stop() }()
	var notes []string
	for _, p := range []*proc{pf, dc} {
		d, err := prepare(p)
		if err != nil {
			return err
		}
		notes = append(notes, fmt.Sprintf("%s: first SELECT of the 100,000-message INBOX %s", p.name, ms(d)))
	}
	workloads := []workload{
		resync("M1000", 1000),
		resync("M10000", 10000),
		resync("INBOX", fixtureSize),
		command("SORT by date", "INBOX", fixtureSize, "SORT", "UID SORT (DATE) UTF-8 ALL"),
		command("SORT by subject", "INBOX", fixtureSize, "SORT", "UID SORT (SUBJECT) UTF-8 ALL"),
		command("THREAD=REFERENCES", "INBOX", fixtureSize, "THREAD", "UID THREAD REFERENCES UTF-8 ALL"),
	}
	searches := []workload{
		command("SEARCH BODY, a rare word", "INBOX", fixtureSize, "SEARCH", `UID SEARCH BODY "zeppelin"`),
		command("SEARCH BODY, a phrase", "INBOX", fixtureSize, "SEARCH", `UID SEARCH BODY "electric guitar"`),
		command("SEARCH BODY, a common word", "INBOX", fixtureSize, "SEARCH", `UID SEARCH BODY "people"`),
		command("SEARCH TEXT, a subject phrase", "INBOX", fixtureSize, "SEARCH", `UID SEARCH TEXT "budget review"`),
		command("SEARCH TEXT, absent", "INBOX", fixtureSize, "SEARCH", `UID SEARCH TEXT "quetzalcoatl"`),
	}
	table, err := compare(pf, dc, append(workloads, searches...), rounds)
	if err != nil {
		return err
	}
	if xapian {
		dc.stop()
		dv.fts = true
		if dc, err = dv.start(); err != nil {
			return err
		}
		logf("building Dovecot's Xapian index")
		start := time.Now()
		if err := dv.doveadm(ctx, "index", "-u", fixtureUser, "INBOX"); err != nil {
			return err
		}
		notes = append(notes, fmt.Sprintf("Dovecot: `doveadm index` of INBOX with fts-xapian took %s (less when reused: -reuse); its index is %s",
			ms(time.Since(start)), du(filepath.Join(maildir, "xapian-indexes"))))
		for i := range searches {
			searches[i].name += " (Dovecot with fts-xapian)"
		}
		more, err := compare(pf, dc, searches, rounds)
		if err != nil {
			return err
		}
		table = append(table, more...)
	}
	if text, index, err := postfachIndexSize(data); err == nil {
		notes = append(notes, fmt.Sprintf("postfach: folded text kept for search (blob_text) %d MB, trigram index (blob_fts) %d MB", text>>20, index>>20))
	}
	printTable(table, notes, rounds)
	return nil
}

// du returns the disk use of a directory as du -sh prints it.
func du(path string) string {
	out, err := exec.Command("du", "-sh", path).Output()
	if err != nil {
		return "?"
	}
	return strings.Fields(string(out))[0]
}

// postfachIndexSize reads the size of the full-text tables from SQLite's
// dbstat table, read-only beside the running server.
func postfachIndexSize(dataDir string) (text, index int64, err error) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, sqlite.DBName)+"?mode=ro")
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'blob_text%'`).Scan(&text); err != nil {
		return 0, 0, err
	}
	err = db.QueryRow(`SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'blob_fts%'`).Scan(&index)
	return text, index, err
}

// prepare opens INBOX once (Dovecot builds its index then) and makes the
// smaller mailboxes of the resync, copies of INBOX's first messages.
func prepare(p *proc) (time.Duration, error) {
	c, err := login(p.addr, fixtureUser, fixturePass)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p.name, err)
	}
	defer c.close()
	d, err := c.run("SELECT INBOX", nil)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p.name, err)
	}
	for _, m := range []int{1000, 10000} {
		box := "M" + strconv.Itoa(m)
		if _, err := c.do("CREATE " + box); err != nil && !strings.Contains(err.Error(), "xists") {
			return 0, fmt.Errorf("%s: %w", p.name, err)
		}
		st, err := c.do("STATUS " + box + " (MESSAGES)")
		if err != nil {
			return 0, err
		}
		if len(st) == 1 && field(st[0], "MESSAGES ") == strconv.Itoa(m) {
			continue
		}
		logf("%s: copying %d messages to %s", p.name, m, box)
		if _, err := c.do(fmt.Sprintf("UID COPY 1:%d %s", m, box)); err != nil {
			return 0, fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return d, nil
}

// row is one line of the table.
type row struct {
	w        workload
	pf, dc   result
	hitsDiff bool
}

// compare runs the workloads against both servers: once cold each, then
// rounds times, alternating which server goes first.
func compare(pf, dc *proc, ws []workload, rounds int) ([]row, error) {
	sessions := map[*proc]*session{}
	for _, p := range []*proc{pf, dc} {
		s, err := newSession(p, fixtureUser, fixturePass)
		if err != nil {
			return nil, err
		}
		if _, err := s.reader.do("ENABLE QRESYNC"); err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		defer s.close()
		sessions[p] = s
	}
	var out []row
	for _, w := range ws {
		logf("%s", w.name)
		r := row{w: w}
		res := map[*proc]*result{pf: &r.pf, dc: &r.dc}
		for i := -1; i < rounds; i++ {
			order := []*proc{pf, dc}
			if i%2 == 1 {
				order = []*proc{dc, pf}
			}
			for _, p := range order {
				d, n, err := w.run(sessions[p])
				if err != nil {
					return nil, fmt.Errorf("%s on %s: %w", w.name, p.name, err)
				}
				if i < 0 {
					res[p].first = d
					continue
				}
				res[p].times = append(res[p].times, d)
				res[p].counts = append(res[p].counts, n)
			}
		}
		r.hitsDiff = r.pf.count() != r.dc.count()
		logf("  postfach %s (%s), Dovecot %s (%s)", ms(r.pf.median()), r.pf.count(), ms(r.dc.median()), r.dc.count())
		out = append(out, r)
	}
	return out, nil
}

func printTable(rows []row, notes []string, rounds int) {
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("Medians of %d runs after one cold run (first run in parentheses); load average at the end: %s\n\n", rounds, strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Println("| workload | postfach | Dovecot | Dovecot / postfach | results (postfach / Dovecot) |")
	fmt.Println("|---|---|---|---|---|")
	for _, r := range rows {
		ratio := "-"
		if m := r.pf.median(); m > 0 {
			ratio = fmt.Sprintf("%.1f×", float64(r.dc.median())/float64(m))
		}
		counts := r.pf.count() + " / " + r.dc.count()
		if r.hitsDiff {
			counts += " (differ)"
		}
		fmt.Printf("| %s | %s (%s) | %s (%s) | %s | %s |\n", r.w.name, ms(r.pf.median()), ms(r.pf.first), ms(r.dc.median()), ms(r.dc.first), ratio, counts)
	}
	fmt.Println()
	for _, n := range notes {
		fmt.Println("- " + n)
	}
}
