package benchtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"postfach/internal/store"
	"postfach/internal/store/match"
	"postfach/internal/store/sqlite"
)

// The 100k fixture: one account, bigUser, whose INBOX holds bigMessages
// messages of 1 to 3 KB with flags and keywords spread like a real
// mailbox's, header fields that SEARCH benchmarks hit a few hundred
// times, and English-like body text (fixtureBody, fts_test.go).
const (
	bigUser     = "big@example.org"
	bigMessages = 100_000

	// Every 250th message (i%250 == 42) has a subject with this phrase.
	subjectNeedle = "budget review"
	subjectHits   = bigMessages / 250
	// Senders rotate through 331 addresses; "person17@" is one of them.
	senders    = 331
	fromNeedle = "person17@"
)

// fromHits is how many of the fixture's messages come from fromNeedle.
func fromHits() int {
	n := 0
	for i := 0; i < bigMessages; i++ {
		if i%senders == 17 {
			n++
		}
	}
	return n
}

// fixtureVersion names the fixture's content and the store's header
// folding; change it whenever fixtureMessage or the flags change.
var fixtureVersion = "v2-text-fold" + strconv.Itoa(match.FoldVersion)

// fixtureMessage is message i of the fixture.
func fixtureMessage(i int) []byte {
	subject := fmt.Sprintf("Weekly report %d on project %d", i, i%37)
	if i%250 == 42 {
		subject = fmt.Sprintf("Quarterly budget review %d", i)
	}
	if i%3 == 0 {
		subject = "Re: " + subject
	}
	s := i % senders
	date := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Minute)
	header := fmt.Sprintf("Return-Path: <person%d@example%d.net>\r\n"+
		"Received: from mx.example%d.net (mx.example%d.net [192.0.2.%d]) by mail.example.org with ESMTPS id %x; %s\r\n"+
		"From: Person %d <person%d@example%d.net>\r\n"+
		"To: Big Mailbox <big@example.org>\r\n"+
		"Subject: %s\r\n"+
		"Date: %s\r\n"+
		"Message-ID: <fixture-%d@example%d.net>\r\n"+
		"MIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n"+
		"Content-Transfer-Encoding: 8bit\r\n"+
		"\r\n",
		s, s%7, s%7, s%7, s%250+1, i*7919, date.Format(time.RFC1123Z),
		s, s, s%7, subject, date.Format(time.RFC1123Z), i, s%7)
	return fixtureBody(header, i, 1000+(i*37)%2000)
}

// fixtureFlags are message i's flags: most messages are read, some
// answered, flagged or forwarded, as in a mailbox kept for years.
func fixtureFlags(i int) (store.Flags, []string) {
	var f store.Flags
	if i%10 != 0 {
		f |= store.FlagSeen
	}
	if i%7 == 0 {
		f |= store.FlagAnswered
	}
	if i%20 == 0 {
		f |= store.FlagFlagged
	}
	var kw []string
	if i%50 == 0 {
		kw = append(kw, "$Forwarded")
	}
	if i%97 == 0 {
		kw = append(kw, "$Label1")
	}
	return f, kw
}

// fixtureDir returns the data directory of the 100k fixture, building it
// on first use and caching it across runs in os.TempDir() (or in
// $POSTFACH_BENCH_FIXTURE). Building takes a minute or so; a cached copy
// is checked and reused.
func fixtureDir() (string, error) {
	dir := os.Getenv("POSTFACH_BENCH_FIXTURE")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "postfach-benchtest-100k-"+fixtureVersion)
	}
	return cachedFixture(dir, "the 100k fixture", checkFixture, buildFixture)
}

// checkFixture reports whether dir holds a complete fixture; an absent one
// is os.ErrNotExist.
func checkFixture(dir string) error {
	return checkInboxes(dir, inboxSize{bigUser, bigMessages})
}

// fixtureNewMessage is message i of the fixture with its flags.
func fixtureNewMessage(i int) store.NewMessage {
	f, kw := fixtureFlags(i)
	return store.NewMessage{Flags: f, Keywords: kw, Body: bytes.NewReader(fixtureMessage(i))}
}

// buildFixture fills dir through the store: no fsync, 500 messages per
// Append, one appender per core.
func buildFixture(dir string) error {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := fillInbox(ctx, s, bigUser, bigMessages, fixtureNewMessage); err != nil {
		return err
	}
	// The full-text index fills behind the deliveries; benchmarks measure
	// it complete.
	return s.WaitIndexed(ctx)
}
