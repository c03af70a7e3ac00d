package sqlite

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"postfach/internal/store"
	"postfach/internal/store/fts"
	"postfach/internal/store/match"
)

// ftsWords is the vocabulary of the test messages: ASCII and not, with
// characters whose case folding is not ASCII's.
var ftsWords = []string{"budget", "review", "Größe", "straße", "STRASSE", "Ärger", "ärger", "Σίσυφος", "ΣΊΣΥΦΟΣ",
	"Kelvin\u212a", "café", "naïve", "report", "quarterly", "invoice", "4711", "zeppelin", "hello", "help",
	"日本語", "テスト", "x", "ab", "a\u0308b", "le", "the", "Fahrplan", "Verspätung", "Zürich"}

// ftsMessage builds test message i from rng: plain, quoted-printable,
// base64, Latin-1, HTML, with attachments and forwarded messages.
func ftsMessage(i int, rng *rand.Rand) string {
	words := func(n int) string {
		var w []string
		for range n {
			w = append(w, ftsWords[rng.IntN(len(ftsWords))])
		}
		return strings.Join(w, " ")
	}
	subject := words(3)
	head := fmt.Sprintf("From: Person %d <p%d@example.org>\r\nTo: team@example.org\r\nSubject: %s\r\nMessage-ID: <m%d@example.org>\r\nMIME-Version: 1.0\r\n", i, i%7, subject, i)
	body := words(20 + rng.IntN(60))
	switch i % 6 {
	case 0:
		return head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
	case 1:
		qp := strings.NewReplacer("ä", "=C3=A4", "ö", "=C3=B6", "ü", "=C3=BC", "ß", "=C3=9F", "=", "=3D").Replace(body)
		return head + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp + "\r\n"
	case 2:
		return head + "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			base64.StdEncoding.EncodeToString([]byte("<html><body><p>"+strings.ReplaceAll(body, " ", "</p> <b>")+"</b></p><script>secretscript</script></body></html>")) + "\r\n"
	case 3:
		latin := strings.NewReplacer("ä", "\xe4", "ö", "\xf6", "ü", "\xfc", "ß", "\xdf", "é", "\xe9", "ï", "\xef").Replace(body)
		return head + "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + latin + "\r\n"
	case 4:
		return head + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body +
			"\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"" + words(1) + "-plan.pdf\"\r\n\r\nJVBERi0x\r\n--b--\r\n"
	}
	return head + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n" +
		"From: inner@example.net\r\nSubject: " + words(2) + "\r\n\r\n" + body + "\r\n--b--\r\n"
}

// randomCriteria builds a random search over text keys, flags and UIDs.
func randomCriteria(rng *rand.Rand, depth int) store.SearchCriteria {
	needle := func() string {
		w := []rune(ftsWords[rng.IntN(len(ftsWords))] + " " + ftsWords[rng.IntN(len(ftsWords))])
		i := rng.IntN(len(w))
		s := string(w[i:min(len(w), i+1+rng.IntN(7))])
		switch rng.IntN(4) {
		case 0:
			s = strings.ToUpper(s)
		case 1:
			s = "absent" + s
		}
		return s
	}
	var c store.SearchCriteria
	for range 1 + rng.IntN(2) {
		switch rng.IntN(10) {
		case 0, 1, 2:
			c.Body = append(c.Body, needle())
		case 3, 4:
			c.Text = append(c.Text, needle())
		case 5:
			in := []store.FuzzyField{store.FuzzyBody, store.FuzzyText, store.FuzzyHeader}[rng.IntN(3)]
			c.Fuzzy = append(c.Fuzzy, store.FuzzyMatch{In: in, Field: "Subject", Value: needle() + " " + needle()})
		case 6:
			c.Header = append(c.Header, store.HeaderMatch{Field: "Subject", Value: needle()})
		case 7:
			c.Flags |= store.FlagSeen
		case 8:
			if depth < 3 {
				c.Not = append(c.Not, randomCriteria(rng, depth+1))
			}
		case 9:
			if depth < 3 {
				c.Or = append(c.Or, [2]store.SearchCriteria{randomCriteria(rng, depth+1), randomCriteria(rng, depth+1)})
			}
		}
	}
	if rng.IntN(8) == 0 {
		c.UIDs = append(c.UIDs, store.UIDSet{{Start: 5, Stop: 30}})
	}
	return c
}

// setTextState forces every blob_text row into a state, for the tests of
// the index's intermediate states.
func setTextState(t *testing.T, s *Store, sql string) {
	t.Helper()
	if err := s.w.do(context.Background(), nil, func(t *wtx) error {
		_, err := t.exec(sql)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestTextSearchExact: whatever the state of the index (texts queued,
// indexed, or not extracted at all so that the matcher reads every blob),
// BODY, TEXT and FUZZY searches give the same answers, which are the
// matcher's.
func TestTextSearchExact(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	m, inbox, _ := setup(t, s)
	rng := rand.New(rand.NewPCG(6, 203))
	// Queued first: no indexer.
	s.index.close()
	const n = 60
	raws := make([]string, n)
	for i := range n {
		raws[i] = ftsMessage(i, rng)
		flags := store.Flags(0)
		if i%3 == 0 {
			flags = store.FlagSeen
		}
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Flags: flags, Body: strings.NewReader(raws[i])}}); err != nil {
			t.Fatal(err)
		}
	}
	var searches []store.SearchCriteria
	for range 250 {
		searches = append(searches, randomCriteria(rng, 0))
	}
	searches = append(searches,
		store.SearchCriteria{Body: []string{"secretscript"}}, // script content is not text
		store.SearchCriteria{Text: []string{"plan.pdf"}},     // file names are not TEXT
		store.SearchCriteria{Fuzzy: []store.FuzzyMatch{{In: store.FuzzyText, Value: "plan.pdf"}}},
		store.SearchCriteria{Body: []string{""}},
		store.SearchCriteria{Fuzzy: []store.FuzzyMatch{{In: store.FuzzyHeader, Field: "Cc", Value: ""}}},      // no message has Cc
		store.SearchCriteria{Fuzzy: []store.FuzzyMatch{{In: store.FuzzyHeader, Field: "Subject", Value: ""}}}, // every one a Subject
		store.SearchCriteria{Fuzzy: []store.FuzzyMatch{{In: store.FuzzyHeader, Field: "X-Missing", Value: "abc"}}},
	)
	run := func(state string) [][]store.UID {
		out := make([][]store.UID, len(searches))
		for i := range searches {
			uids, err := m.Search(ctx, inbox.ID, &searches[i])
			if err != nil {
				t.Fatalf("%s: search %d %+v: %v", state, i, searches[i], err)
			}
			out[i] = uids
		}
		return out
	}
	queued := run("queued")

	s.index = startIndexer(s, fts5Index{})
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	var states []int
	rows, _ := s.rd().QueryContext(ctx, `SELECT DISTINCT state FROM blob_text ORDER BY state`)
	for rows.Next() {
		var st int
		rows.Scan(&st)
		states = append(states, st)
	}
	rows.Close()
	if !slices.Equal(states, []int{textSteady}) {
		t.Fatalf("states after indexing: %v", states)
	}
	indexed := run("indexed")

	// The matcher alone: no row has text.
	s.index.close()
	setTextState(t, s, `UPDATE blob_text SET state = 0, header = '', body = '', names = ''`)
	setTextState(t, s, `INSERT INTO blob_fts (blob_fts) VALUES ('delete-all')`)
	scan := run("scan")

	for i := range searches {
		if !slices.Equal(scan[i], queued[i]) || !slices.Equal(scan[i], indexed[i]) {
			t.Errorf("search %+v:\nmatcher %v\nqueued  %v\nindexed %v", searches[i], scan[i], queued[i], indexed[i])
		}
	}
	// Some searches must have found something, and the big message.
	hits := 0
	for _, r := range scan {
		if len(r) > 0 {
			hits++
		}
	}
	if hits < len(searches)/4 {
		t.Errorf("only %d of %d searches found anything", hits, len(searches))
	}
	if got := scan[len(scan)-7]; len(got) != 0 {
		t.Errorf("script content found: %v", got)
	}

	// The backfill, at the next start, brings the index back.
	s.Close()
	s = openTest(t, dir, Options{NoSync: true})
	defer s.Close()
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	m = s.Mail(m.(*mail).acct)
	backfilled := run("backfilled")
	for i := range searches {
		if !slices.Equal(scan[i], backfilled[i]) {
			t.Errorf("search %+v: matcher %v, after backfill %v", searches[i], scan[i], backfilled[i])
		}
	}
	var previews int
	s.rd().QueryRowContext(ctx, `SELECT count(*) FROM blob_text WHERE preview IS NOT NULL`).Scan(&previews)
	if previews != n {
		t.Errorf("%d previews after backfill, want %d", previews, n)
	}
}

// TestTextSearchTruncated: a message with more text than the index keeps
// is found by text past the limit, through the matcher.
func TestTextSearchTruncated(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	big := "Subject: big\r\n\r\n" + strings.Repeat("filler line of text\r\n", fts.MaxText/20) + "needle past the limit zeppelin\r\n"
	for _, raw := range []string{"Subject: small\r\n\r\nzeppelin\r\n", big} {
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(raw)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	var state int
	s.rd().QueryRowContext(ctx, `SELECT state FROM blob_text WHERE size > 1000`).Scan(&state)
	if state != textExtracted|textIndexed {
		t.Fatalf("state of the big message %d", state)
	}
	for _, tc := range []struct {
		c    store.SearchCriteria
		want []store.UID
	}{
		{store.SearchCriteria{Body: []string{"past the limit"}}, []store.UID{2}},
		{store.SearchCriteria{Text: []string{"ZEPPELIN"}}, []store.UID{1, 2}},
		{store.SearchCriteria{Body: []string{"filler line"}}, []store.UID{2}},
		{store.SearchCriteria{Not: []store.SearchCriteria{{Body: []string{"past the limit"}}}}, []store.UID{1}},
		{store.SearchCriteria{Fuzzy: []store.FuzzyMatch{{In: store.FuzzyBody, Value: "zepelin limmit"}}}, []store.UID{2}},
	} {
		got, err := m.Search(ctx, inbox.ID, &tc.c)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v %v, want %v", tc.c, got, err, tc.want)
		}
	}
}

// TestTextOfCopiesAndExpunge: copies share one index entry, which goes
// with the last of them.
func TestTextOfCopiesAndExpunge(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	other, err := m.CreateMailbox(ctx, "Other", store.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: x\r\n\r\nunmistakable quokka\r\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Copy(ctx, inbox.ID, store.UIDSetOf(res.UIDs...), other.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	count := func() (texts, index int) {
		s.rd().QueryRowContext(ctx, `SELECT count(*) FROM blob_text`).Scan(&texts)
		s.rd().QueryRowContext(ctx, `SELECT count(*) FROM blob_fts WHERE blob_fts MATCH '"okk"'`).Scan(&index)
		return
	}
	if texts, index := count(); texts != 1 || index != 1 {
		t.Fatalf("after copy: %d texts, %d index entries; want 1 and 1", texts, index)
	}
	for _, mb := range []store.MailboxID{inbox.ID, other.ID} {
		if got, err := m.Search(ctx, mb, &store.SearchCriteria{Body: []string{"QUOKKA"}}); err != nil || len(got) != 1 {
			t.Fatalf("search in %d: %v %v", mb, got, err)
		}
	}
	m.StoreFlags(ctx, inbox.ID, store.AllUIDs(), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted})
	if _, err := m.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	if texts, index := count(); texts != 1 || index != 1 {
		t.Fatalf("after expunging one copy: %d texts, %d index entries", texts, index)
	}
	if err := m.DeleteMailbox(ctx, "Other"); err != nil {
		t.Fatal(err)
	}
	if texts, index := count(); texts != 0 || index != 0 {
		t.Fatalf("after removing the last copy: %d texts, %d index entries", texts, index)
	}
}

// TestSearchRelevancy: FUZZY ranks closer and rarer matches higher.
func TestSearchRelevancy(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	for _, body := range []string{
		"the quarterly budget review is attached",  // 1: both words exactly
		"budgets were discussed",                   // 2: one word, approximately
		"quarterly numbers only",                   // 3: the other word only
		"nothing of interest here, a long message", // 4: neither
		"quartely budgte",                          // 5: both misspelt
	} {
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: s\r\n\r\n" + body + "\r\n")}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	rs := m.(store.RelevancySearcher)
	c := &store.SearchCriteria{Fuzzy: []store.FuzzyMatch{{In: store.FuzzyBody, Value: "quarterly budget"}}}
	uids, rel, err := rs.SearchRelevancy(ctx, inbox.ID, c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(uids, []store.UID{1, 5}) {
		t.Fatalf("FUZZY BODY \"quarterly budget\" = %v, want [1 5]", uids)
	}
	if rel[0] != 100 || rel[1] >= 100 || rel[1] < 1 {
		t.Errorf("relevancy %v", rel)
	}
	// An OR of fuzzy keys: each message scores by what it matched.
	c = &store.SearchCriteria{Or: [][2]store.SearchCriteria{{
		{Fuzzy: []store.FuzzyMatch{{In: store.FuzzyBody, Value: "budget"}}},
		{Fuzzy: []store.FuzzyMatch{{In: store.FuzzyBody, Value: "quarterly"}}},
	}}}
	uids, rel, err = rs.SearchRelevancy(ctx, inbox.ID, c)
	if err != nil || !slices.Equal(uids, []store.UID{1, 2, 3, 5}) {
		t.Fatalf("OR: %v %v", uids, err)
	}
	if rel[0] != 100 || rel[1] >= rel[0] || rel[2] >= rel[0] {
		t.Errorf("OR relevancy %v", rel)
	}
	// Without fuzzy keys every match ranks alike.
	uids, rel, err = rs.SearchRelevancy(ctx, inbox.ID, &store.SearchCriteria{Body: []string{"quarterly"}})
	if err != nil || !slices.Equal(uids, []store.UID{1, 3}) || !slices.Equal(rel, []uint8{100, 100}) {
		t.Errorf("plain search: %v %v %v", uids, rel, err)
	}
}

func TestPreviews(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	m, inbox, acct := setup(t, s)
	for _, raw := range []string{
		"Subject: a\r\n\r\nHello   there,\r\n> quoted\r\nbye\r\n",
		"Content-Type: image/png\r\n\r\nxxxx\r\n",
	} {
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(raw)}}); err != nil {
			t.Fatal(err)
		}
	}
	pv := m.(store.Previewer)
	want := []store.Preview{{UID: 1, Text: "Hello there, bye", Ready: true}, {UID: 2, Text: "", Ready: true}}
	for _, lazy := range []bool{false, true} {
		got, err := pv.Previews(ctx, inbox.ID, store.AllUIDs(), lazy)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("lazy %v: %+v %v", lazy, got, err)
		}
	}
	// Not computed yet (stored before previews): LAZY says so, otherwise
	// it is computed on the spot; the backfill stores it.
	s.index.close()
	setTextState(t, s, `UPDATE blob_text SET state = 0, preview = NULL`)
	got, err := pv.Previews(ctx, inbox.ID, store.UIDSetOf(1), true)
	if err != nil || len(got) != 1 || got[0].Ready {
		t.Errorf("lazy, not computed: %+v %v", got, err)
	}
	got, err = pv.Previews(ctx, inbox.ID, store.UIDSetOf(1, 2), false)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("not computed: %+v %v", got, err)
	}
	s.Close()
	s = openTest(t, dir, Options{NoSync: true})
	defer s.Close()
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = s.Mail(acct).(store.Previewer).Previews(ctx, inbox.ID, store.AllUIDs(), true)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("after backfill: %+v %v", got, err)
	}
}

// TestIndexerKeepsUp: deliveries from many goroutines end up indexed, and
// searches during them find every acknowledged message.
func TestIndexerKeepsUp(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	const writers, each = 4, 25
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range each {
				raw := fmt.Sprintf("Subject: w%d\r\n\r\nbody of message %d-%d marker\r\n", w, w, i)
				res, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(raw)}})
				if err != nil {
					errs <- err
					return
				}
				got, err := m.Search(ctx, inbox.ID, &store.SearchCriteria{Body: []string{fmt.Sprintf("MESSAGE %d-%d MARK", w, i)}})
				if err != nil || !slices.Equal(got, res.UIDs) {
					errs <- fmt.Errorf("search right after append: %v %v, want %v", got, err, res.UIDs)
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.WaitIndexed(wctx); err != nil {
		t.Fatal(err)
	}
	got, err := m.Search(ctx, inbox.ID, &store.SearchCriteria{Text: []string{"marker"}})
	if err != nil || len(got) != writers*each {
		t.Fatalf("%d found, %v", len(got), err)
	}
}

// FuzzTextSearch compares indexed search with the matcher on one message.
func FuzzTextSearch(f *testing.F) {
	f.Add("Subject: Grüße\r\n\r\nDie Verspätung\r\n", "verspät", "GRÜ")
	f.Add("Content-Type: text/html\r\n\r\n<p>a&amp;b</p>\r\n", "a&b", "\"q\"")
	f.Add("Subject: zx\r\n\r\nends in qj", "qj", "ZX")
	f.Fuzz(func(t *testing.T, raw, body, text string) {
		if len(raw) > 4096 || !utf8.ValidString(body) || !utf8.ValidString(text) {
			return
		}
		ctx := context.Background()
		s := openTest(t, t.TempDir(), Options{NoSync: true})
		defer s.Close()
		m, inbox, _ := setup(t, s)
		// Beside it, messages enough that a short needle's rare grams
		// lead the search (shortShare).
		msgs := []store.NewMessage{{Body: strings.NewReader(raw)}}
		for range 3 {
			msgs = append(msgs, store.NewMessage{Body: strings.NewReader("Subject: x\r\n\r\nfiller\r\n")})
		}
		if _, err := m.Append(ctx, inbox.ID, msgs); err != nil {
			t.Fatal(err)
		}
		if err := s.WaitIndexed(ctx); err != nil {
			t.Fatal(err)
		}
		c := store.SearchCriteria{Body: []string{body}, Or: [][2]store.SearchCriteria{{{Text: []string{text}}, {Fuzzy: []store.FuzzyMatch{{In: store.FuzzyText, Value: text}}}}}}
		if len(body)%2 == 1 {
			c.Fuzzy = append(c.Fuzzy, store.FuzzyMatch{In: store.FuzzyBody, Value: body})
		}
		got, err := m.Search(ctx, inbox.ID, &c)
		if err != nil {
			t.Fatal(err)
		}
		got = slices.DeleteFunc(got, func(u store.UID) bool { return u != 1 })
		msgs1, err := m.Messages(ctx, inbox.ID, store.UIDSetOf(1), store.FetchOptions{Structure: true})
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.OpenBody(ctx, &msgs1[0])
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		matcher, err := match.Compile(&c)
		if err != nil {
			t.Fatal(err)
		}
		want, err := matcher.Match(&match.Message{UID: 1, Content: match.NewBlobContent(b, msgs1[0].Part)})
		if err != nil {
			t.Fatal(err)
		}
		if want != (len(got) == 1) {
			t.Fatalf("index says %v, matcher %v", got, want)
		}
	})
}
