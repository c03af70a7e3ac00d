package imap_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"postfach/internal/imaptest"
	"postfach/internal/store"
)

// The RFCs' own examples, replayed against a real server.
//
// Each example is the RFC's transcript: "C:" lines are sent as they are,
// and the "S:" lines that follow are compared with what the server
// answers, after masking what no server can reproduce (UIDVALIDITY,
// MODSEQ values, dates) and what the protocol leaves free:
//
//   - {{name}} in an S: line matches a number ({{@name}} an object id of
//     RFC 8474) and binds it; later
//     occurrences, in S: or C: lines, must equal (or are replaced by) the
//     bound value. {{_}} matches any number. The setup may bind names
//     beforehand (a UIDVALIDITY, a MODSEQ to test against).
//   - "..." inside an S: line matches any text; an S: line that is only
//     "..." allows any further untagged lines (the RFCs elide lines so).
//   - In an S: line, \r\n stands for a line break inside a literal.
//   - {{lit:name}} in a C: line sends the example's literal of that name
//     as a non-synchronizing literal (LITERAL+), so the RFC's "+ Ready"
//     continuation lines are left out.
//   - The human-readable text of status responses is ignored: only the
//     tag, the status and the response code count.
//   - Untagged responses may come in any order (the RFCs fix none in
//     these examples); the tagged response comes last.
//   - FETCH data items may come in any order, flag lists in any order and
//     case, and a FETCH may carry a UID item the example leaves out: once
//     CONDSTORE is on we always send UID (RFC 7162 section 3.2.4 asks for
//     it under QRESYNC, and it is never wrong).
//   - C2:/S2: lines are a second session of the same user, for the
//     examples where another client changes the mailbox.
//   - A C: line directly followed by another C: line of its session is
//     pipelined: both are sent at once, and the S: lines after the second
//     hold the responses to both.
//
// Where our answer differs from the example in a way the RFC allows (a
// different but valid choice), the script says so in a "#" comment and
// shows our answer. Every session starts logged in.

type rfcExample struct {
	name  string
	setup func(s *rfcSetup)
	lits  map[string]string
	// script is the transcript; see above.
	script string
}

// rfcSetup prepares an example's account through the store, so that UIDs,
// flags and message counts are those of the example.
type rfcSetup struct {
	t    *testing.T
	ctx  context.Context
	env  *imaptest.Env
	mail store.Mail
	vars map[string]string
	// keepRecent leaves the messages \Recent: by default the setup
	// claims them, so that the examples' FLAGS show no \Recent.
	keepRecent bool
}

// rfcMessage is the default body of message uid in setups.
func rfcMessage(uid int) string {
	return fmt.Sprintf("From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\nSubject: message %d\r\n"+
		"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nMessage-ID: <%d@example.org>\r\n\r\nMessage %d.\r\n", uid, uid, uid)
}

// mailbox creates name (unless it exists) and fills it so that exactly
// the given UIDs exist, with bodies from body (rfcMessage when nil). It
// binds the mailbox's UIDVALIDITY to uv (when not "").
func (s *rfcSetup) mailbox(name, uv string, uids []int, body func(uid int) string) store.Mailbox {
	s.t.Helper()
	if body == nil {
		body = rfcMessage
	}
	return s.fill(name, uv, uids, func(uid int) store.NewMessage {
		return store.NewMessage{Body: strings.NewReader(body(uid))}
	})
}

// fill is mailbox with the messages made by msg.
func (s *rfcSetup) fill(name, uv string, uids []int, msg func(uid int) store.NewMessage) store.Mailbox {
	s.t.Helper()
	mb, err := s.mail.Mailbox(s.ctx, name)
	if err != nil {
		if mb, err = s.mail.CreateMailbox(s.ctx, name, store.CreateOptions{}); err != nil {
			s.t.Fatal(err)
		}
	}
	top := 0
	if len(uids) > 0 {
		top = slices.Max(uids)
	}
	first := int(mb.UIDNext)
	if top >= first {
		msgs := make([]store.NewMessage, 0, top-first+1)
		for u := first; u <= top; u++ {
			msgs = append(msgs, msg(u))
		}
		if _, err := s.mail.Append(s.ctx, mb.ID, msgs); err != nil {
			s.t.Fatal(err)
		}
	}
	var gone store.UIDSet
	for u := first; u <= top; u++ {
		if !slices.Contains(uids, u) {
			gone = append(gone, store.UIDRange{Start: store.UID(u), Stop: store.UID(u)})
		}
	}
	if len(gone) > 0 {
		if _, err := s.mail.StoreFlags(s.ctx, mb.ID, gone, store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted}); err != nil {
			s.t.Fatal(err)
		}
		if _, err := s.mail.Expunge(s.ctx, mb.ID, gone); err != nil {
			s.t.Fatal(err)
		}
	}
	if mb, err = s.mail.MailboxByID(s.ctx, mb.ID); err != nil {
		s.t.Fatal(err)
	}
	if uv != "" {
		s.vars[uv] = strconv.FormatUint(uint64(mb.UIDValidity), 10)
	}
	return mb
}

// expunge removes messages.
func (s *rfcSetup) expunge(mb store.Mailbox, uids ...int) {
	s.t.Helper()
	var set store.UIDSet
	for _, u := range uids {
		set = append(set, store.UIDRange{Start: store.UID(u), Stop: store.UID(u)})
	}
	s.flags(mb, store.FlagsAdd, store.FlagDeleted, nil, uids...)
	if _, err := s.mail.Expunge(s.ctx, mb.ID, set); err != nil {
		s.t.Fatal(err)
	}
}

// uidRange lists lo..hi.
func uidRange(lo, hi int) []int {
	var out []int
	for u := lo; u <= hi; u++ {
		out = append(out, u)
	}
	return out
}

// flags changes flags of the given UIDs and returns the MODSEQ of the
// change.
func (s *rfcSetup) flags(mb store.Mailbox, op store.FlagOp, f store.Flags, kw []string, uids ...int) store.ModSeq {
	s.t.Helper()
	var set store.UIDSet
	for _, u := range uids {
		set = append(set, store.UIDRange{Start: store.UID(u), Stop: store.UID(u)})
	}
	res, err := s.mail.StoreFlags(s.ctx, mb.ID, set, store.FlagUpdate{Op: op, Flags: f, Keywords: kw})
	if err != nil {
		s.t.Fatal(err)
	}
	var ms store.ModSeq
	for _, r := range res.Messages {
		ms = max(ms, r.ModSeq)
	}
	return ms
}

// meta sets an annotation (RFC 5464) of a mailbox, or of the server with
// mailbox 0.
func (s *rfcSetup) meta(mbox store.MailboxID, name, value string) {
	s.t.Helper()
	if err := s.mail.SetMetadata(s.ctx, mbox, []store.MetadataEntry{{Name: name, Value: []byte(value)}}); err != nil {
		s.t.Fatal(err)
	}
}

// highest binds name to the mailbox's HIGHESTMODSEQ now.
func (s *rfcSetup) highest(mb store.Mailbox, name string) {
	s.t.Helper()
	st, err := s.mail.Status(s.ctx, mb.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	s.vars[name] = strconv.FormatUint(uint64(st.HighestModSeq), 10)
}

func TestRFCExamples(t *testing.T) {
	for _, group := range [][]rfcExample{
		condstoreExamples, qresyncExamples, sortThreadExamples, esortExamples, notifyExamples,
		metadataExamples, quotaExamples, objectIDExamples, saveDateExamples, replaceExamples,
		partialExamples, catenateExamples, multisearchExamples, compressExamples,
	} {
		for _, ex := range group {
			t.Run(ex.name, func(t *testing.T) {
				t.Parallel()
				runRFCExample(t, ex)
			})
		}
	}
}

func runRFCExample(t *testing.T, ex rfcExample) {
	env := imaptest.Start(t, imaptest.Options{})
	ctx := context.Background()
	acct, err := env.Server.Store.AccountByAddress(ctx, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	s := &rfcSetup{t: t, ctx: ctx, env: env, mail: env.Server.Store.Mail(acct.ID), vars: map[string]string{}}
	if ex.setup != nil {
		ex.setup(s)
	}
	if !s.keepRecent {
		mbs, err := s.mail.Mailboxes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, mb := range mbs {
			if _, err := s.mail.ClaimRecent(ctx, mb.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	sessions := map[string]*imaptest.Client{}
	session := func(id string) *imaptest.Client {
		if c := sessions[id]; c != nil {
			return c
		}
		c := imaptest.Login(t, env, "alice@example.org")
		sessions[id] = c
		return c
	}
	session("")
	steps := parseScript(t, ex.script)
	pending := map[string]string{} // session -> tag of a command waiting for DONE
	for i, st := range steps {
		c := session(st.session)
		line := substitute(t, st.command, s.vars, ex.lits)
		tag, _, _ := strings.Cut(st.command, " ")
		if strings.EqualFold(st.command, "DONE") {
			tag = pending[st.session]
		}
		c.Write(line + "\r\n")
		if len(st.expect) == 0 {
			if i+1 == len(steps) || steps[i+1].session != st.session {
				t.Fatalf("command %q expects no response", st.command)
			}
			continue // pipelined with the next one
		}
		// A block ending in a continuation request waits for it only;
		// the command goes on (IDLE).
		wantCont := len(st.expect) > 0 && strings.HasPrefix(st.expect[len(st.expect)-1], "+")
		if wantCont {
			pending[st.session] = tag
		}
		var got []string
		for {
			l := c.ReadLine()
			got = append(got, l)
			if wantCont && strings.HasPrefix(l, "+") || strings.HasPrefix(l, tag+" ") {
				break
			}
		}
		if err := matchBlock(st.expect, got, s.vars); err != nil {
			t.Fatalf("%s\nC: %s\n%v\ngot:\n  %s\nwant:\n  %s", ex.name, line, err,
				strings.Join(got, "\n  "), strings.Join(st.expect, "\n  "))
		}
	}
}

// scriptStep is one client line and the server lines expected for it.
type scriptStep struct {
	session string // "" or "2"
	command string
	expect  []string
}

var scriptLineRE = regexp.MustCompile(`^(C|S)(\d?):(?: (.*))?$`)

func parseScript(t *testing.T, script string) []scriptStep {
	var steps []scriptStep
	for _, raw := range strings.Split(script, "\n") {
		l := strings.TrimSpace(raw)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		m := scriptLineRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("bad script line %q", raw)
		}
		switch m[1] {
		case "C":
			steps = append(steps, scriptStep{session: m[2], command: m[3]})
		case "S":
			if len(steps) == 0 || steps[len(steps)-1].session != m[2] {
				t.Fatalf("server line %q without a command of its session", raw)
			}
			// A literal's line breaks are written \r\n.
			want := strings.ReplaceAll(m[3], `\r\n`, "\r\n")
			steps[len(steps)-1].expect = append(steps[len(steps)-1].expect, want)
		}
	}
	return steps
}

var varRE = regexp.MustCompile(`\{\{(@?[a-z_][a-z0-9_]*)(?::([a-z0-9_]+))?\}\}`)

// substitute fills a client line's variables and literals.
func substitute(t *testing.T, line string, vars, lits map[string]string) string {
	return varRE.ReplaceAllStringFunc(line, func(v string) string {
		m := varRE.FindStringSubmatch(v)
		if m[1] == "lit" {
			lit, ok := lits[m[2]]
			if !ok {
				t.Fatalf("no literal %q", m[2])
			}
			return fmt.Sprintf("{%d+}\r\n%s", len(lit), lit)
		}
		val, ok := vars[m[1]]
		if !ok {
			t.Fatalf("variable %s not bound before %q", m[1], line)
		}
		return val
	})
}

// matchBlock matches a command's response lines with the expected ones:
// the last line with the last expected, the untagged ones in any order.
func matchBlock(expect, got []string, vars map[string]string) error {
	last := expect[len(expect)-1]
	if err := matchLine(last, got[len(got)-1], vars); err != nil {
		return fmt.Errorf("final line: %v", err)
	}
	rest := got[:len(got)-1]
	used := make([]bool, len(rest))
	extraOK := false
	for _, want := range expect[:len(expect)-1] {
		if want == "..." {
			extraOK = true
			continue
		}
		found := false
		var lastErr error
		for i, g := range rest {
			if used[i] {
				continue
			}
			try := cloneVars(vars)
			if lastErr = matchLine(want, g, try); lastErr == nil {
				for k, v := range try {
					vars[k] = v
				}
				used[i], found = true, true
				break
			}
		}
		if !found {
			return fmt.Errorf("no response matches %q", want)
		}
	}
	if !extraOK {
		for i, g := range rest {
			if !used[i] {
				return fmt.Errorf("unexpected response %q", g)
			}
		}
	}
	return nil
}

func cloneVars(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// matchLine matches one response line with a template, binding the
// template's variables in vars.
func matchLine(tmpl, line string, vars map[string]string) error {
	tmpl = strings.TrimPrefix(tmpl, "S: ")
	tmpl, line = normalizeResponse(tmpl), normalizeResponse(line)
	if isFetch(tmpl) && isFetch(line) && !strings.Contains(tmpl, "(UID ") && !strings.Contains(tmpl, " UID ") {
		line = dropFetchUID(line)
	}
	var re strings.Builder
	var names []string
	re.WriteString("(?s)^")
	rest := tmpl
	for rest != "" {
		i := strings.Index(rest, "{{")
		j := strings.Index(rest, "...")
		switch {
		case i < 0 && j < 0:
			re.WriteString(regexp.QuoteMeta(rest))
			rest = ""
		case j >= 0 && (i < 0 || j < i):
			re.WriteString(regexp.QuoteMeta(rest[:j]))
			re.WriteString("(?:.*?)")
			rest = rest[j+3:]
		default:
			k := strings.Index(rest[i:], "}}")
			re.WriteString(regexp.QuoteMeta(rest[:i]))
			name := rest[i+2 : i+k]
			if strings.HasPrefix(name, "@") {
				re.WriteString(`([A-Za-z0-9_-]+)`) // an RFC 8474 objectid
			} else {
				re.WriteString(`(\d+)`)
			}
			names = append(names, name)
			rest = rest[i+k+2:]
		}
	}
	re.WriteString("$")
	m := regexp.MustCompile(re.String()).FindStringSubmatch(line)
	if m == nil {
		return fmt.Errorf("%q does not match %q", line, tmpl)
	}
	for i, name := range names {
		if name == "_" {
			continue
		}
		if v, ok := vars[name]; ok && v != m[i+1] {
			return fmt.Errorf("%q: {{%s}} is %s, want %s", line, name, m[i+1], v)
		}
		vars[name] = m[i+1]
	}
	return nil
}

var statusRE = regexp.MustCompile(`^(\S+ (?:OK|NO|BAD|BYE|PREAUTH))(?: (\[[^\]]*\]))?(?: .*)?$`)

// normalizeResponse drops a status response's text, and puts FETCH data
// items and flag lists in a canonical order.
func normalizeResponse(l string) string {
	// A string that could be an atom may be sent either way.
	l = quotedAtomRE.ReplaceAllString(l, "$1")
	if m := statusRE.FindStringSubmatch(l); m != nil {
		l = m[1]
		if m[2] != "" {
			l += " " + m[2]
		}
	}
	l = flagListRE.ReplaceAllStringFunc(l, func(s string) string {
		m := flagListRE.FindStringSubmatch(s)
		fs := strings.Fields(strings.ToUpper(m[2]))
		sort.Strings(fs)
		return m[1] + "(" + strings.Join(fs, " ") + ")"
	})
	if isFetch(l) {
		l = sortFetchItems(l)
	}
	return l
}

var (
	quotedAtomRE = regexp.MustCompile(`"([A-Za-z0-9/._-]+)"`)
	flagListRE   = regexp.MustCompile(`((?:^\* |\[)?(?:PERMANENT)?FLAGS )\(([^()]*)\)`)
	fetchRE      = regexp.MustCompile(`^\* (\d+|\{\{[a-z0-9_]+\}\}) (UID)?FETCH \((.*)\)$`)
)

func isFetch(l string) bool { return fetchRE.MatchString(l) }

// sortFetchItems orders a FETCH response's data items by name.
func sortFetchItems(l string) string {
	m := fetchRE.FindStringSubmatch(l)
	items := fetchItems(m[3])
	sort.SliceStable(items, func(i, j int) bool { return items[i].name < items[j].name })
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.text
	}
	return "* " + m[1] + " " + m[2] + "FETCH (" + strings.Join(parts, " ") + ")"
}

func dropFetchUID(l string) string {
	m := fetchRE.FindStringSubmatch(l)
	var parts []string
	for _, it := range fetchItems(m[3]) {
		if it.name != "UID" {
			parts = append(parts, it.text)
		}
	}
	return "* " + m[1] + " " + m[2] + "FETCH (" + strings.Join(parts, " ") + ")"
}

type fetchItem struct{ name, text string }

// fetchItems splits "NAME value NAME value ..." where a name may carry a
// [section] and <partial>, and a value is an atom, a quoted string, an
// inlined literal ({n} and n octets) or a parenthesized list.
func fetchItems(s string) []fetchItem {
	var out []fetchItem
	i := 0
	for i < len(s) {
		start := i
		depth := 0
		for i < len(s) && (s[i] != ' ' || depth > 0) {
			switch s[i] {
			case '[':
				depth++
			case ']':
				depth--
			}
			i++
		}
		name := s[start:i]
		if k := strings.IndexAny(name, "[<"); k >= 0 {
			name = name[:k]
		}
		i++ // SP
		i = skipValue(s, i)
		out = append(out, fetchItem{name: strings.ToUpper(name), text: s[start:min(i, len(s))]})
		i++ // SP
	}
	return out
}

// skipValue returns the end of the value starting at i.
func skipValue(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '(':
		depth := 0
		for i < len(s) {
			switch s[i] {
			case '"':
				i = skipValue(s, i) - 1
			case '{':
				i = skipValue(s, i) - 1
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	case '"':
		i++
		for i < len(s) && s[i] != '"' {
			if s[i] == '\\' {
				i++
			}
			i++
		}
		return i + 1
	case '{':
		if strings.HasPrefix(s[i:], "{{") {
			// A {{variable}} of a template.
			if end := strings.Index(s[i:], "}}"); end >= 0 {
				return i + end + 2
			}
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return len(s)
		}
		n, _ := strconv.Atoi(s[i+1 : i+end])
		return i + end + 1 + n
	}
	for i < len(s) && s[i] != ' ' && s[i] != ')' {
		i++
	}
	return i
}

// preamble enables CONDSTORE (or QRESYNC) and selects INBOX, as the
// RFC 7162 examples assume: their client is CONDSTORE-aware already.
const (
	selectPreamble = `
C: s SELECT INBOX
S: ...
S: s OK [READ-WRITE]
`
	condstorePreamble = `
C: e ENABLE CONDSTORE
S: * ENABLED CONDSTORE
S: e OK
C: s SELECT INBOX
S: ...
S: * OK [HIGHESTMODSEQ {{hm}}]
S: s OK [READ-WRITE]
`
	qresyncPreamble = `
C: e ENABLE QRESYNC
S: * ENABLED QRESYNC
S: e OK
C: s SELECT INBOX
S: ...
S: * OK [HIGHESTMODSEQ {{hm}}]
S: s OK [READ-WRITE]
`
)

// setup172 makes RFC 7162 section 3.1.2.1's INBOX: 172 messages, the
// first unseen the 12th, one recent. Its UIDs start at 1, not 4220, so
// that the test does not store 4391 messages: UIDNEXT is 173, not 4392.
func setup172(s *rfcSetup) {
	s.keepRecent = true
	mb := s.mailbox("INBOX", "uv", uidRange(1, 171), nil)
	s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, uidRange(1, 11)...)
	if _, err := s.mail.ClaimRecent(s.ctx, mb.ID); err != nil {
		s.t.Fatal(err)
	}
	s.mailbox("INBOX", "", uidRange(1, 172), nil)
}

// messages makes INBOX hold UIDs 1..n.
func messages(n int) func(s *rfcSetup) {
	return func(s *rfcSetup) { s.mailbox("INBOX", "uv", uidRange(1, n), nil) }
}

var condstoreExamples = []rfcExample{
	{name: "RFC 7162 3.1.2.1 and 3.1.8 SELECT reports HIGHESTMODSEQ", setup: setup172, script: `
# Ours: PERMANENTFLAGS lists every flag (all can be stored), and OBJECTID
# (RFC 8474) adds MAILBOXID.
C: A142 SELECT INBOX
S: * 172 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 12] Message 12 is first unseen
S: * OK [UIDVALIDITY {{uv}}] UIDs valid
S: * OK [UIDNEXT 173] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Limited
S: * OK [HIGHESTMODSEQ {{_}}]
S: * OK [MAILBOXID (...)] Ok
S: A142 OK [READ-WRITE] SELECT completed
# Section 3.1.8, SELECT (CONDSTORE), on the same mailbox: the first SELECT
# closes, and this session already saw the recent message.
C: A143 SELECT INBOX (CONDSTORE)
S: * OK [CLOSED]
S: * 172 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 12] Message 12 is first unseen
S: * OK [UIDVALIDITY {{uv}}] UIDs valid
S: * OK [UIDNEXT 173] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Limited
S: * OK [HIGHESTMODSEQ {{_}}]
S: * OK [MAILBOXID (...)] Ok
S: A143 OK [READ-WRITE] SELECT completed, CONDSTORE is now enabled
`},
	{name: "RFC 7162 3.1.3 example 2: all messages pass UNCHANGEDSINCE",
		setup: func(s *rfcSetup) { s.mailbox("INBOX", "", []int{4, 6, 7, 8}, nil) },
		script: condstorePreamble + `
C: a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\Deleted)
S: * 1 FETCH (UID 4 MODSEQ ({{_}}))
S: * 2 FETCH (UID 6 MODSEQ ({{_}}))
S: * 4 FETCH (UID 8 MODSEQ ({{_}}))
S: a103 OK Conditional Store completed
`},
	{name: "RFC 7162 3.1.3 example 3", setup: messages(50), script: condstorePreamble + `
C: a104 STORE * (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\Deleted $Processed)
S: * 50 FETCH (MODSEQ ({{_}}))
# Ours: the new keyword is announced (RFC 9051 section 7.3.5).
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Processed)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Processed \*)] Flags permitted
S: a104 OK Store (conditional) completed
`},
	{name: "RFC 7162 3.1.3 example 4: the first CONDSTORE enabling command reports HIGHESTMODSEQ",
		setup: func(s *rfcSetup) {
			mb := s.mailbox("INBOX", "", uidRange(1, 50), nil)
			s.flags(mb, store.FlagsAdd, store.FlagDeleted, nil, 50)
		},
		script: selectPreamble + `
C: c101 STORE 50 (UNCHANGEDSINCE 12121230045) -FLAGS.SILENT (\Deleted)
S: * OK [HIGHESTMODSEQ {{hm}}]
S: * 50 FETCH (MODSEQ ({{_}}))
S: c101 OK Store (conditional) completed
`},
	{name: "RFC 7162 3.1.3 example 5: MODIFIED",
		setup: func(s *rfcSetup) {
			mb := s.mailbox("INBOX", "", uidRange(1, 9), nil)
			s.highest(mb, "ms")
			s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, 7)
			s.flags(mb, store.FlagsAdd, store.FlagAnswered, nil, 9)
		},
		script: condstorePreamble + `
# Example 6 is the same with FETCH responses for 7 and 9, which RFC 3501
# section 6.4.6 recommends; we answer as example 5 does.
C: d105 STORE 7,5,9 (UNCHANGEDSINCE {{ms}}) +FLAGS.SILENT (\Deleted)
S: * 5 FETCH (MODSEQ ({{_}}))
S: d105 OK [MODIFIED 7,9] Conditional STORE failed
`},
	{name: "RFC 7162 3.1.3 example 7: UNCHANGEDSINCE 0", setup: messages(12), script: condstorePreamble + `
C: a102 STORE 12 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)
S: a102 OK [MODIFIED 12] Conditional STORE failed
`},
	{name: "RFC 7162 3.1.3 example 10: another client set the flag", setup: messages(150), script: condstorePreamble + `
C2: x SELECT INBOX
S2: ...
S2: x OK [READ-WRITE]
C2: y STORE 101 +FLAGS.SILENT ($Processed)
S2: ...
S2: y OK
C: a106 STORE 100:150 (UNCHANGEDSINCE {{hm}}) +FLAGS.SILENT ($Processed)
S: * 100 FETCH (MODSEQ ({{m}}))
S: * 101 FETCH (MODSEQ ({{_}}) FLAGS ($Processed))
S: * 102 FETCH (MODSEQ ({{m}}))
S: ...
S: * 150 FETCH (MODSEQ ({{m}}))
S: a106 OK [MODIFIED 101] Conditional STORE failed
`},
	{name: "RFC 7162 3.1.3 example 10: another client set other flags", setup: messages(150), script: condstorePreamble + `
# One MODSEQ per message: a change of \Deleted fails a conditional
# +FLAGS ($Processed) too. Section 3.1.12 discourages this (a SHOULD); the
# example shows it, and the client retries.
C2: x SELECT INBOX
S2: ...
S2: x OK [READ-WRITE]
C2: y STORE 101 +FLAGS.SILENT (\Deleted \Answered)
S2: y OK
C: a106 STORE 100:150 (UNCHANGEDSINCE {{hm}}) +FLAGS.SILENT ($Processed)
S: * 100 FETCH (MODSEQ ({{m}}))
S: * 101 FETCH (MODSEQ ({{m101}}) FLAGS (\Deleted \Answered))
S: * 102 FETCH (MODSEQ ({{m}}))
S: ...
S: * 150 FETCH (MODSEQ ({{m}}))
S: a106 OK [MODIFIED 101] Conditional STORE failed
C: b108 STORE 101 (UNCHANGEDSINCE {{m101}}) +FLAGS.SILENT ($Processed)
S: * 101 FETCH (MODSEQ ({{_}}))
S: b108 OK Conditional Store completed
`},
	{name: "RFC 7162 3.1.3 example 11: expunged messages and MODIFIED", setup: messages(7), script: condstorePreamble + `
C2: x SELECT INBOX
S2: ...
S2: x OK [READ-WRITE]
C2: y STORE 2 +FLAGS.SILENT (\Deleted \Answered)
S2: y OK
C2: z UID STORE 4:7 +FLAGS.SILENT (\Deleted)
S2: z OK
C2: w UID EXPUNGE 4:7
S2: ...
S2: w OK
# Ours: the change that failed message 2 is reported at once, and the
# answer is OK: messages 4 to 7 are gone, so there is nothing to store
# on them (RFC 2180 section 4.2.3 lets the server choose).
C: B001 STORE 1:7 (UNCHANGEDSINCE {{hm}}) +FLAGS (\SEEN)
S: * 1 FETCH (MODSEQ ({{m}}) FLAGS (\SEEN))
S: * 3 FETCH (MODSEQ ({{m}}) FLAGS (\SEEN))
S: * 2 FETCH (MODSEQ ({{m2}}) FLAGS (\Deleted \Answered))
S: B001 OK [MODIFIED 2] Some of the messages no longer exist.
C: B002 NOOP
S: * 4 EXPUNGE
S: * 4 EXPUNGE
S: * 4 EXPUNGE
S: * 4 EXPUNGE
S: B002 OK NOOP Completed.
C: b003 STORE 2 (UNCHANGEDSINCE {{m2}}) +FLAGS (\Seen)
S: * 2 FETCH (MODSEQ ({{_}}) FLAGS (\SEEN \Deleted \Answered))
S: b003 OK Conditional Store completed
`},
	{name: "RFC 7162 3.1.4.1 FETCH MODSEQ", setup: messages(3), script: condstorePreamble + `
# Ours: the three arrived in one APPEND, so they share their MODSEQ.
C: a FETCH 1:3 (MODSEQ)
S: * 1 FETCH (MODSEQ ({{m}}))
S: * 2 FETCH (MODSEQ ({{m}}))
S: * 3 FETCH (MODSEQ ({{m}}))
S: a OK Fetch complete
`},
	{name: "RFC 7162 3.1.5 SEARCH MODSEQ",
		setup: func(s *rfcSetup) {
			mb := s.mailbox("INBOX", "", uidRange(1, 25), nil)
			st, _ := s.mail.Status(s.ctx, mb.ID)
			s.vars["since"] = strconv.FormatUint(uint64(st.HighestModSeq)+1, 10)
			s.flags(mb, store.FlagsAdd, store.FlagDraft, nil, 2, 5, 6, 7, 11, 12, 18, 19, 20, 23)
		},
		script: condstorePreamble + `
C: a SEARCH MODSEQ "/flags/\\draft" all {{since}}
S: * SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ {{_}})
S: a OK Search complete
# Every MODSEQ is at least 1.
C: t SEARCH OR NOT MODSEQ 1 LARGER 50000
S: * SEARCH
S: t OK Search complete, nothing found
`},
	{name: "RFC 7162 3.1.6 STATUS HIGHESTMODSEQ",
		setup: func(s *rfcSetup) { s.mailbox("blurdybloop", "", uidRange(1, 231), nil) },
		script: `
# Ours: the items in the order asked for; UIDNEXT is not the example's.
C: A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)
S: * STATUS blurdybloop (UIDNEXT {{_}} MESSAGES 231 HIGHESTMODSEQ {{_}})
S: A042 OK STATUS completed
`},
	{name: "RFC 7162 3.1.10 ESEARCH and ESORT with MODSEQ",
		setup: func(s *rfcSetup) {
			dates := map[int]string{1: "4 Jan 2026", 2: "3 Jan 2026", 3: "2 Jan 2026", 4: "5 Jan 2026", 5: "1 Jan 2026"}
			mb := s.mailbox("INBOX", "", uidRange(1, 5), func(uid int) string {
				return fmt.Sprintf("Subject: m%d\r\nDate: %s 10:00:00 +0000\r\n\r\nbody\r\n", uid, dates[uid])
			})
			st, _ := s.mail.Status(s.ctx, mb.ID)
			s.vars["since"] = strconv.FormatUint(uint64(st.HighestModSeq)+1, 10)
			s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, 1, 2, 3, 5)
		},
		script: condstorePreamble + `
C: a SEARCH RETURN (ALL) MODSEQ {{since}}
S: * ESEARCH (TAG "a") ALL 1:3,5 MODSEQ {{m}}
S: a OK Extended SEARCH completed
C: a SORT RETURN (ALL) (DATE) UTF-8 MODSEQ {{since}}
S: * ESEARCH (TAG "a") ALL 5,3,2,1 MODSEQ {{m}}
S: a OK Extended SORT completed
C: b SORT (DATE) UTF-8 MODSEQ {{since}}
S: * SORT 5 3 2 1 (MODSEQ {{m}})
S: b OK
`},
}

var qresyncExamples = []rfcExample{
	{name: "RFC 7162 3.2.5 SELECT (QRESYNC) with a UIDVALIDITY mismatch",
		setup: func(s *rfcSetup) {
			s.keepRecent = true
			mb := s.mailbox("INBOX", "uv", uidRange(86, 546), nil)
			s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, uidRange(86, 96)...)
			if _, err := s.mail.ClaimRecent(s.ctx, mb.ID); err != nil {
				s.t.Fatal(err)
			}
			s.mailbox("INBOX", "", uidRange(86, 549), nil)
		},
		script: `
C: e ENABLE QRESYNC
S: * ENABLED QRESYNC
S: e OK
C: A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))
S: * 464 EXISTS
S: * 3 RECENT
S: * OK [UIDVALIDITY {{uv}}] UIDVALIDITY
S: * OK [UIDNEXT 550] Predicted next UID
S: * OK [HIGHESTMODSEQ {{_}}] Highest mailbox mod-sequence
S: * OK [UNSEEN 12] Message 12 is first unseen
S: * FLAGS (\Answered \Flagged \Draft \Deleted \Seen)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Draft \Deleted \Seen \*)] Permanent flags
S: * OK [MAILBOXID (...)] Ok
S: A02 OK [READ-WRITE] Sorry, UIDVALIDITY mismatch
`},
	{name: "RFC 7162 3.2.5.1 SELECT (QRESYNC) reports VANISHED (EARLIER) and changed flags",
		setup: func(s *rfcSetup) {
			// Existing: 1:40, 42, 117, 119, 212:213, 541, 546:599.
			// Expunged before the client's MODSEQ: 542:545; after it:
			// 41, 43:116, 118, 120:211, 214:540. Changed after it: 117,
			// 119 and 541. The last 11 are recent, the 7th is the first
			// unseen.
			s.keepRecent = true
			mb := s.mailbox("INBOX", "uv", append(uidRange(1, 541), uidRange(546, 588)...), nil)
			s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, uidRange(1, 6)...)
			if _, err := s.mail.ClaimRecent(s.ctx, mb.ID); err != nil {
				s.t.Fatal(err)
			}
			s.mailbox("INBOX", "", append(uidRange(1, 541), uidRange(546, 599)...), nil)
			s.highest(mb, "since")
			s.expunge(mb, append(append(append([]int{41}, uidRange(43, 116)...), 118), append(uidRange(120, 211), uidRange(214, 540)...)...)...)
			s.flags(mb, store.FlagsAdd, store.FlagSeen|store.FlagAnswered, nil, 117)
			s.flags(mb, store.FlagsAdd, store.FlagDraft, []string{"$MDNSent"}, 119)
			s.flags(mb, store.FlagsAdd, store.FlagSeen, []string{"$Forwarded"}, 541)
		},
		script: `
C: e ENABLE QRESYNC
S: * ENABLED QRESYNC
S: e OK
C: s0 EXAMINE INBOX
S: ...
S: s0 OK [READ-ONLY]
# The example's message numbers (49 to 51) cannot be: UIDs 1 to 40 and 42
# come before UID 117, which is the 42nd message here.
C: A03 SELECT INBOX (QRESYNC ({{uv}} {{since}} 41:211,214:541))
S: * OK [CLOSED]
S: * 100 EXISTS
S: * 11 RECENT
S: * OK [UIDVALIDITY {{uv}}] UIDVALIDITY
S: * OK [UIDNEXT 600] Predicted next UID
S: * OK [HIGHESTMODSEQ {{_}}] Highest mailbox mod-sequence
S: * OK [UNSEEN 7] There are some unseen messages in the mailbox
S: * FLAGS (\Answered \Flagged \Draft \Deleted \Seen $Forwarded $MDNSent)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Draft \Deleted \Seen $Forwarded $MDNSent \*)] Permanent flags
S: * OK [MAILBOXID (...)] Ok
S: * VANISHED (EARLIER) 41,43:116,118,120:211,214:540
S: * 42 FETCH (UID 117 FLAGS (\Seen \Answered) MODSEQ ({{_}}))
S: * 43 FETCH (UID 119 FLAGS (\Draft $MDNSent) MODSEQ ({{_}}))
S: * 46 FETCH (UID 541 FLAGS (\Seen $Forwarded) MODSEQ ({{_}}))
S: A03 OK [READ-WRITE] mailbox selected
`},
	{name: "RFC 7162 3.2.6 UID FETCH (CHANGEDSINCE) and the VANISHED modifier",
		setup: func(s *rfcSetup) {
			// 404 406 407 408 410 412 exist; 300:310, 405 and 411 went
			// after the client's MODSEQ, the others before.
			mb := s.mailbox("INBOX", "", []int{300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 404, 405, 406, 407, 408, 410, 411, 412}, nil)
			s.highest(mb, "since")
			s.expunge(mb, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 405, 411)
			s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, 404)
			s.flags(mb, store.FlagsAdd, store.FlagDeleted, nil, 406)
			s.flags(mb, store.FlagsAdd, 0, []string{"$NoJunk", "$AutoJunk", "$MDNSent"}, 408)
		},
		script: qresyncPreamble + `
C: s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE {{since}})
S: * 1 FETCH (UID 404 MODSEQ ({{_}}) FLAGS (\Seen))
S: * 2 FETCH (UID 406 MODSEQ ({{_}}) FLAGS (\Deleted))
S: * 4 FETCH (UID 408 MODSEQ ({{_}}) FLAGS ($NoJunk $AutoJunk $MDNSent))
S: s100 OK FETCH completed
# The example's "UID SEARCH 300:500" would search message numbers 300 to
# 500 (a bare sequence set is message numbers even in UID SEARCH, RFC 9051
# section 6.4.4); the UIDs it means are "UID 300:500".
C: s101 UID SEARCH UID 300:500
S: * SEARCH 404 406 407 408 410 412
S: s101 OK search completed
C: s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE {{since}} VANISHED)
S: * VANISHED (EARLIER) 300:310,405,411
S: * 1 FETCH (UID 404 MODSEQ ({{_}}) FLAGS (\Seen))
S: * 2 FETCH (UID 406 MODSEQ ({{_}}) FLAGS (\Deleted))
S: * 4 FETCH (UID 408 MODSEQ ({{_}}) FLAGS ($NoJunk $AutoJunk $MDNSent))
S: s100 OK FETCH completed
`},
	{name: "RFC 7162 3.2.7 EXPUNGE reports HIGHESTMODSEQ",
		setup: func(s *rfcSetup) {
			mb := s.mailbox("INBOX", "", uidRange(1, 11), nil)
			s.flags(mb, store.FlagsAdd, store.FlagDeleted, nil, 3, 4, 7, 11)
		},
		script: condstorePreamble + `
C: A202 EXPUNGE
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: * 5 EXPUNGE
S: * 8 EXPUNGE
S: A202 OK [HIGHESTMODSEQ {{_}}] expunged
`},
	{name: "RFC 7162 3.2.7 EXPUNGE under QRESYNC reports VANISHED",
		setup: func(s *rfcSetup) {
			mb := s.mailbox("INBOX", "", []int{401, 402, 405, 407, 408, 409, 410, 411, 412, 413, 425}, nil)
			s.flags(mb, store.FlagsAdd, store.FlagDeleted, nil, 405, 407, 410, 425)
		},
		script: qresyncPreamble + `
C: B202 EXPUNGE
S: * VANISHED 405,407,410,425
S: B202 OK [HIGHESTMODSEQ {{_}}] expunged
C: B203 EXPUNGE
S: B203 OK
`},
	{name: "RFC 7162 3.2.8 CLOSE",
		setup: func(s *rfcSetup) {
			mb := s.mailbox("INBOX", "", uidRange(1, 5), nil)
			s.flags(mb, store.FlagsAdd, store.FlagDeleted, nil, 2)
		},
		script: qresyncPreamble + `
C: A202 CLOSE
S: A202 OK done
`},
	{name: "RFC 7162 3.2.9 UID EXPUNGE",
		setup: func(s *rfcSetup) {
			// The example's UIDs 3000 to 3002 are 100 to 102 here.
			mb := s.mailbox("INBOX", "", []int{98, 99, 100, 101, 102, 103}, nil)
			s.flags(mb, store.FlagsAdd, store.FlagDeleted, nil, 100, 101, 102, 103)
		},
		script: condstorePreamble + `
C: . UID EXPUNGE 100:102
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: . OK [HIGHESTMODSEQ {{_}}] Ok
`},
	{name: "RFC 7162 3.2.10 VANISHED for another session's expunges",
		setup: func(s *rfcSetup) { s.mailbox("INBOX", "", []int{405, 406, 407, 500, 505, 507, 510, 625, 630}, nil) },
		script: qresyncPreamble + `
C2: x SELECT INBOX
S2: ...
S2: x OK [READ-WRITE]
C2: y UID STORE 505,507,510,625 +FLAGS.SILENT (\Deleted)
S2: y OK
C2: z EXPUNGE
S2: ...
S2: z OK
C: A202 NOOP
S: * VANISHED 505,507,510,625
S: A202 OK
`},
}

// threadMessages makes the mailbox of RFC 5256 section 4's THREAD
// examples: messages 166 to 208 arrived after 5-Mar-2000 (1 to 165
// before), with base subjects, sent dates and References chosen so that
// both algorithms give the example's answers.
func threadMessages(s *rfcSetup) {
	// Sent dates follow this order.
	order := []int{166, 167, 168, 169, 172, 170, 171, 173, 174, 175, 176, 178, 181, 180, 179, 177, 183, 182, 188,
		184, 185, 186, 187, 189, 190, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200, 202, 201, 203, 204, 205, 206, 207, 208}
	rank := map[int]int{}
	for i, n := range order {
		rank[n] = i
	}
	// Messages of one base subject (ORDEREDSUBJECT's threads).
	subject := map[int]string{}
	for _, g := range [][]int{{174, 175, 176, 178, 181, 180}, {177, 183, 182, 188, 184, 185, 186, 187, 189},
		{194, 195}, {196, 197, 198}, {200, 202}, {206, 207}} {
		for _, n := range g {
			subject[n] = fmt.Sprintf("topic %d", g[0])
		}
	}
	// References (REFERENCES's threads); p1 to p4 are not in the mailbox.
	refs := map[int]string{
		170: "<p1@x>", 179: "<p1@x>",
		174: "<p2@x>", 175: "<p2@x>", 176: "<p2@x>", 178: "<p2@x>", 181: "<p2@x>", 180: "<p2@x>",
		177: "<p3@x>", 183: "<p3@x>", 182: "<p3@x>", 188: "<p3@x>", 185: "<p3@x>", 187: "<p3@x>",
		184: "<p3@x> <188@x>", 189: "<p3@x> <188@x>", 186: "<p3@x> <185@x>",
		194: "<p4@x>", 195: "<p4@x>", 196: "<p4@x> <195@x>",
		198: "<197@x>", 202: "<200@x>", 206: "<205@x>", 207: "<205@x> <206@x>",
	}
	s.fill("INBOX", "", uidRange(1, 208), func(n int) store.NewMessage {
		subj := subject[n]
		if subj == "" {
			subj = fmt.Sprintf("topic %d", n)
		}
		h := fmt.Sprintf("From: bob@example.org\r\nSubject: %s\r\nMessage-ID: <%d@x>\r\n", subj, n)
		internal := time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Hour)
		if n >= 166 {
			sent := time.Date(2000, 3, 6, 0, 0, 0, 0, time.UTC).Add(time.Duration(rank[n]) * time.Hour)
			h += "Date: " + sent.Format(time.RFC1123Z) + "\r\n"
			internal = sent
		}
		if r := refs[n]; r != "" {
			h += "References: " + r + "\r\n"
		}
		return store.NewMessage{Body: strings.NewReader(h + "\r\nbody\r\n"), InternalDate: internal}
	})
}

var sortThreadExamples = []rfcExample{
	{name: "RFC 5256 3 SORT by subject since a date",
		setup: func(s *rfcSetup) {
			subjects := map[int]string{2: "Re: apples", 84: "[list] bananas", 882: "Fwd: cherries"}
			s.fill("INBOX", "", uidRange(1, 882), func(n int) store.NewMessage {
				date := time.Date(1993, 1, 1, 0, 0, 0, 0, time.UTC)
				subj := fmt.Sprintf("old %d", n)
				if subjects[n] != "" {
					date, subj = time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC), subjects[n]
				}
				return store.NewMessage{InternalDate: date, Body: strings.NewReader("Subject: " + subj + "\r\n\r\nbody\r\n")}
			})
		},
		script: selectPreamble + `
C: A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994
S: * SORT 2 84 882
S: A282 OK SORT completed
`},
	{name: "RFC 5256 3 SORT by subject and reverse date",
		setup: func(s *rfcSetup) {
			msgs := map[int]string{1: "Re: Gamma|4", 2: "Gamma|2", 3: "Beta|3", 4: "Fwd: Beta|1", 5: "Alpha|5"}
			s.mailbox("INBOX", "", uidRange(1, 5), func(n int) string {
				subj, day, _ := strings.Cut(msgs[n], "|")
				return "Subject: " + subj + "\r\nDate: " + day + " Feb 2026 10:00:00 +0000\r\n\r\nbody\r\n"
			})
		},
		script: selectPreamble + `
C: A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL
S: * SORT 5 3 4 1 2
S: A283 OK SORT completed
C: A284 SORT (SUBJECT) US-ASCII TEXT "not in mailbox"
S: * SORT
S: A284 OK SORT completed
`},
	{name: "RFC 5256 4 THREAD ORDEREDSUBJECT and REFERENCES", setup: threadMessages, script: selectPreamble + `
C: A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000
S: * THREAD (166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)(177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)(196 (197)(198))(199)(200 202)(201)(203)(204)(205)(206 207)(208)
S: A283 OK THREAD completed
C: A284 THREAD ORDEREDSUBJECT US-ASCII TEXT "gewp"
S: * THREAD
S: A284 OK THREAD completed
C: A285 THREAD REFERENCES UTF-8 SINCE 5-MAR-2000
S: * THREAD (166)(167)(168)(169)(172)((170)(179))(171)(173)((174)(175)(176)(178)(181)(180))((177)(183)(182)(188 (184)(189))(185 186)(187))(190)(191)(192)(193)((194)(195 196))(197 198)(199)(200 202)(201)(203)(204)(205 206 207)(208)
S: A285 OK THREAD completed
`},
}

var esortExamples = []rfcExample{
	{name: "RFC 5267 3.2 ESORT keeps the sort order",
		setup: func(s *rfcSetup) {
			// The example's UIDs 23758 to 23765, scaled down to 58 to 65;
			// 62 is \Deleted, 57 is $Junk.
			mb := s.mailbox("INBOX", "", uidRange(57, 65), func(n int) string {
				return fmt.Sprintf("Subject: m%d\r\nDate: %d Feb 2026 10:00:00 +0000\r\n\r\nbody\r\n", n, n-50)
			})
			s.flags(mb, store.FlagsAdd, store.FlagDeleted, nil, 62)
			s.flags(mb, store.FlagsAdd, 0, []string{"$Junk"}, 57)
		},
		script: selectPreamble + `
# Ranges go upward only (section 3.2): 65:63 is sent as 65,64,63.
C: E01 UID SORT RETURN () (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk
S: * ESEARCH (TAG "E01") UID ALL 65,64,63,61,60,59,58
S: E01 OK Sort completed
C: E02 UID SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 UNDELETED
S: * ESEARCH (TAG "E02") UID MIN 57 MAX 65 COUNT 8
S: E02 OK
`},
}

// notifyLits are messages the NOTIFY examples deliver from a second
// session. "morning" is RFC 5465 section 3's: its header is the 75
// octets of the example's FETCH.
var notifyLits = map[string]string{
	"morning": "Subject: Re: good morning\r\nFrom: alice@example.org\r\nTo: bob@example.org\r\n\r\nHi\r\n",
	"m":       "Subject: news\r\n\r\nbody\r\n",
}

// notifyMailboxes makes the mailboxes of RFC 5465's examples.
func notifyMailboxes(s *rfcSetup) {
	s.mailbox("INBOX", "", uidRange(1, 99), nil)
	s.mailbox("Lists/Lemonade", "", uidRange(1, 500), nil)
	s.mailbox("Lists/Im2000", "", nil, nil)
	s.mailbox("misc", "", uidRange(1, 10), nil)
}

var notifyExamples = []rfcExample{
	{name: "RFC 5465 3 NOTIFY SET STATUS, then events", setup: notifyMailboxes, lits: notifyLits, script: `
# The example's "(subtree Lists MessageNew)" is no NOTIFY syntax: events
# are a parenthesized list (section 8), and MessageNew goes with
# MessageExpunge (section 5). Our STATUS responses carry MESSAGES,
# UIDNEXT, UIDVALIDITY and UNSEEN.
C: b notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))
S: * STATUS Lists/Lemonade (MESSAGES 500 UIDNEXT 501 UIDVALIDITY {{lemonade}} UNSEEN 500)
S: * STATUS Lists/Im2000 (MESSAGES 0 UIDNEXT 1 UIDVALIDITY {{_}} UNSEEN 0)
S: b OK done
C: c select inbox
S: ...
S: c OK [READ-WRITE] INBOX selected
# A new message is delivered to Lists/Lemonade.
C2: x APPEND Lists/Lemonade {{lit:m}}
S2: x OK [APPENDUID {{lemonade}} 501]
C: n1 NOOP
S: * STATUS Lists/Lemonade (MESSAGES 501 UIDNEXT 502 UIDVALIDITY {{lemonade}} UNSEEN 501)
S: n1 OK
# A new message is delivered to INBOX: EXISTS (and, for IMAP4rev1,
# RECENT), then the FETCH the NOTIFY asked for.
C2: y APPEND INBOX {{lit:morning}}
S2: y OK [APPENDUID {{_}} 100]
C: n2 NOOP
S: * 100 EXISTS
S: * 1 RECENT
S: * 100 FETCH (UID 100 BODY[HEADER.FIELDS (from to subject)] {75}Subject: Re: good morning\r\nFrom: alice@example.org\r\nTo: bob@example.org\r\n\r\n)
S: n2 OK
# The example's STATUS response lacks the MESSAGES it asked for, and its
# tagged response the OK.
C: d STATUS misc (UIDVALIDITY UIDNEXT MESSAGES)
S: * STATUS misc (UIDVALIDITY {{misc}} UIDNEXT 11 MESSAGES 10)
S: d OK STATUS completed
C: e notify set (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge)) (mailboxes misc (MessageNew MessageExpunge))
S: e OK done
# Section 5.3: an expunge in another mailbox.
C2: z SELECT misc
S2: ...
S2: z OK [READ-WRITE]
C2: w STORE 4 +FLAGS.SILENT (\Deleted)
S2: w OK
C2: v EXPUNGE
S2: * 4 EXPUNGE
S2: v OK
C: n3 NOOP
S: * STATUS misc (MESSAGES 9 UIDNEXT 11 UIDVALIDITY {{misc}} UNSEEN 9)
S: n3 OK
`},
	{name: "RFC 5465 5 message events in the selected mailbox and in another one", setup: notifyMailboxes, lits: notifyLits, script: `
C: a notify set (selected (Messagenew (uid) messageExpunge FlagChange)) (personal (MessageNew FlagChange MessageExpunge))
S: a OK
C: s SELECT INBOX
S: ...
S: s OK [READ-WRITE]
C2: x SELECT INBOX
S2: ...
S2: x OK [READ-WRITE]
# Section 5.1, FlagChange: "* 99 FETCH (UID 9999 FLAGS ($Junk))".
C2: y STORE 99 +FLAGS.SILENT ($Junk)
S2: ...
S2: y OK
C: n1 NOOP
S: * 99 FETCH (UID 99 FLAGS ($Junk))
# Ours: a new keyword is announced (RFC 9051 section 7.3.5).
S: * FLAGS (...)
S: * OK [PERMANENTFLAGS (...)]
S: n1 OK
# Section 5.2, MessageNew: "* 444 EXISTS", "* 444 FETCH (UID 9999)".
C2: z APPEND INBOX {{lit:m}}
S2: ...
S2: z OK [APPENDUID {{_}} 100]
# The other session has INBOX selected too, and saw the message first:
# it is \Recent there (RFC 3501 section 2.3.2).
C: n2 NOOP
S: * 100 EXISTS
S: * 0 RECENT
S: * 100 FETCH (UID 100)
S: n2 OK
# And in another mailbox: "* STATUS Lists/Lemonade (UIDNEXT 10002
# MESSAGES 503)".
C2: w APPEND Lists/Lemonade {{lit:m}}
S2: w OK [APPENDUID {{_}} 501]
C: n3 NOOP
S: * STATUS Lists/Lemonade (MESSAGES 501 UIDNEXT 502 UIDVALIDITY {{_}} UNSEEN 501)
S: n3 OK
# Section 5.3, MessageExpunge: "* 444 EXPUNGE".
C2: v STORE 100 +FLAGS.SILENT (\Deleted)
S2: v OK
C2: u EXPUNGE
S2: ...
S2: u OK
C: n4 NOOP
S: * 100 EXPUNGE
S: n4 OK
`},
	{name: "RFC 5465 5 with QRESYNC: VANISHED and HIGHESTMODSEQ", setup: notifyMailboxes, lits: notifyLits, script: `
C: q ENABLE QRESYNC
S: * ENABLED QRESYNC
S: q OK
C: a notify set (selected (MessageNew MessageExpunge FlagChange)) (personal (MessageNew FlagChange MessageExpunge))
S: a OK
C: s SELECT INBOX
S: ...
S: s OK [READ-WRITE]
# Section 5.1 in another mailbox with CONDSTORE: "* STATUS Lists/Lemonade
# (HIGHESTMODSEQ 65666665 UIDVALIDITY 101)".
C2: x SELECT Lists/Lemonade
S2: ...
S2: x OK [READ-WRITE]
C2: y STORE 1 +FLAGS.SILENT ($Junk)
S2: ...
S2: y OK
C: n1 NOOP
S: * STATUS Lists/Lemonade (MESSAGES 500 UIDNEXT 501 UIDVALIDITY {{_}} UNSEEN 500 HIGHESTMODSEQ {{_}})
S: n1 OK
# Section 5.3 with QRESYNC: "* VANISHED 5444".
C2: z SELECT INBOX
S2: ...
S2: z OK [READ-WRITE]
C2: w UID STORE 44 +FLAGS.SILENT (\Deleted)
S2: w OK
C2: v UID EXPUNGE 44
S2: ...
S2: v OK
C: n2 NOOP
S: * VANISHED 44
S: n2 OK
`},
	{name: "RFC 5465 5.4 and 5.5 MailboxName and SubscriptionChange",
		setup: func(s *rfcSetup) {
			s.mailbox("OldMailbox", "", nil, nil)
			s.mailbox("DeletedMailbox", "", nil, nil)
			s.mailbox("SubscribedMailbox", "", nil, nil)
		},
		script: `
C: a notify set (personal (MailboxName SubscriptionChange))
S: a OK
C2: x CREATE NewMailbox
S2: x OK [MAILBOXID (...)]
C: n1 NOOP
S: * LIST () "/" "NewMailbox"
S: n1 OK
# The example's deleted mailbox is "INBOX.DeletedMailbox" on a server
# with "." as its delimiter.
C2: y DELETE DeletedMailbox
S2: y OK
C: n2 NOOP
S: * LIST (\NonExistent) "/" "DeletedMailbox"
S: n2 OK
C2: z DELETE NewMailbox
S2: z OK
C2: w RENAME OldMailbox NewMailbox
S2: w OK
C: n3 NOOP
S: * LIST (\NonExistent) "/" "NewMailbox"
S: * LIST () "/" "NewMailbox" ("OLDNAME" ("OldMailbox"))
S: n3 OK
C2: v SUBSCRIBE SubscribedMailbox
S2: v OK
C: n4 NOOP
S: * LIST (\Subscribed) "/" "SubscribedMailbox"
S: n4 OK
`},
	{name: "RFC 5465 3 and 6 event groups; BADEVENT", setup: notifyMailboxes, script: `
C: a notify set (mailboxes INBOX (Messagenew messageExpunge)) (personal (SubscriptionChange))
S: a OK
C: b notify set (selected (Messagenew (uid flags) messageExpunge)) (personal (MessageNew FlagChange MessageExpunge))
S: b OK
# Events we do not report are refused with NO [BADEVENT (ours...)].
C: c notify set (personal (MessageNew MessageExpunge AnnotationChange))
S: c NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]
C: d notify none
S: d OK
`},
}

var metadataExamples = []rfcExample{
	{name: "RFC 5464 4.2 GETMETADATA",
		setup: func(s *rfcSetup) {
			s.meta(0, "/shared/comment", "Shared comment")
			inbox := s.mailbox("INBOX", "", nil, nil)
			s.meta(inbox.ID, "/private/comment", "My own comment")
			s.meta(inbox.ID, "/shared/comment", "Shared comment")
		},
		script: `
C: a GETMETADATA "" /shared/comment
S: * METADATA "" (/shared/comment "Shared comment")
S: a OK GETMETADATA complete
C: a GETMETADATA "INBOX" /private/comment
S: * METADATA "INBOX" (/private/comment "My own comment")
S: a OK GETMETADATA complete
C: a GETMETADATA "INBOX" (/shared/comment /private/comment)
S: * METADATA "INBOX" (/shared/comment "Shared comment" /private/comment "My own comment")
S: a OK GETMETADATA complete
`},
	{name: "RFC 5464 4.2.1 and 4.2.2 MAXSIZE and DEPTH",
		setup: func(s *rfcSetup) {
			inbox := s.mailbox("INBOX", "", nil, nil)
			s.meta(inbox.ID, "/private/comment", "My own comment")
			s.meta(inbox.ID, "/shared/comment", strings.Repeat("x", 2199))
			s.meta(inbox.ID, "/private/filters/values/small", "SMALLER 5000")
			s.meta(inbox.ID, "/private/filters/values/boss", `FROM "boss@example.com"`)
			s.meta(inbox.ID, "/private/filters/values/boss/deeper", "not returned with DEPTH 1")
		},
		script: `
# The examples put the options after the mailbox name; erratum 2785 puts
# them before it, as the ABNF does.
C: a GETMETADATA (MAXSIZE 1024) "INBOX" (/shared/comment /private/comment)
S: * METADATA "INBOX" (/private/comment "My own comment")
S: a OK [METADATA LONGENTRIES 2199] GETMETADATA complete
# Ours: entries below the requested one come sorted by name.
C: a GETMETADATA (DEPTH 1) "INBOX" (/private/filters/values)
S: * METADATA "INBOX" (/private/filters/values/boss "FROM \"boss@example.com\"" /private/filters/values/small "SMALLER 5000")
S: a OK GETMETADATA complete
`},
	{name: "RFC 5464 4.3 SETMETADATA", lits: map[string]string{"two": "My new comment across\r\ntwo lines."}, script: `
C: a SETMETADATA INBOX (/private/comment {{lit:two}})
S: a OK SETMETADATA complete
C: b GETMETADATA INBOX /private/comment
S: * METADATA INBOX (/private/comment {33}My new comment across\r\ntwo lines.)
S: b OK
C: a SETMETADATA INBOX (/private/comment NIL)
S: a OK SETMETADATA complete
C: a SETMETADATA INBOX (/private/comment "My new comment" /shared/comment "This one is for you!")
S: a OK SETMETADATA complete
# Section 4.4.1; the examples list two entries without the parentheses
# entry lists need.
C: a GETMETADATA "INBOX" (/private/comment /shared/comment)
S: * METADATA "INBOX" (/private/comment "My new comment" /shared/comment "This one is for you!")
S: a OK GETMETADATA complete
`},
	{name: "RFC 5464 4.3 SETMETADATA over the limit",
		setup: func(s *rfcSetup) {
			inbox := s.mailbox("INBOX", "", nil, nil)
			entries := make([]store.MetadataEntry, store.MaxMetadataEntries)
			for i := range entries {
				entries[i] = store.MetadataEntry{Name: fmt.Sprintf("/private/vendor/x/n%d", i), Value: []byte("v")}
			}
			if err := s.mail.SetMetadata(s.ctx, inbox.ID, entries); err != nil {
				s.t.Fatal(err)
			}
		},
		script: `
C: a SETMETADATA INBOX (/private/comment "My new comment")
S: a NO [METADATA TOOMANY] SETMETADATA failed
`},
}

// quotaLits holds RFC 9208 section 5.3's message.
var quotaLits = map[string]string{"joe": "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.example>\r\n" +
	"Subject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu.example\r\nMessage-Id: <B27397-0100000@Blurdybloop.example>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n"}

// quotaSetup gives the account 42 messages, 12 of them in INBOX (4
// \Deleted), and limits of 512 KiB and 1000 messages, or 42 messages.
func quotaSetup(messages int64) func(s *rfcSetup) {
	return func(s *rfcSetup) {
		inbox := s.mailbox("INBOX", "", uidRange(1, 12), nil)
		s.flags(inbox, store.FlagsAdd, store.FlagDeleted, nil, 2, 5, 7, 11)
		s.mailbox("saved-messages", "", uidRange(1, 30), nil)
		s.mailbox("MEETING", "", nil, nil)
		if err := s.env.Server.Store.SetQuota(s.ctx, "alice@example.org", store.Quota{StorageBytes: 512 << 10, Messages: messages}); err != nil {
			s.t.Fatal(err)
		}
	}
}

var quotaExamples = []rfcExample{
	{name: "RFC 9208 3 GETQUOTA, GETQUOTAROOT, SETQUOTA and DELETED-STORAGE", setup: quotaSetup(1000), script: `
# One quota root per account, named "" (section 4.2.1's example): the
# examples' "#user/alice" and "!partition/sda4" do not exist here.
C: G0001 GETQUOTA "!partition/sda4"
S: G0001 NO [NONEXISTENT] Getquota failed
C: S0000 GETQUOTA ""
S: * QUOTA "" (STORAGE {{_}} 512 MESSAGE 42 1000)
S: S0000 OK Getquota completed
C: G0002 GETQUOTAROOT INBOX
S: * QUOTAROOT INBOX ""
S: * QUOTA "" (STORAGE {{_}} 512 MESSAGE 42 1000)
S: G0002 OK Getquotaroot complete
# Limits are the administrator's: QUOTASET is not offered.
C: S0001 SETQUOTA "" (STORAGE 510)
S: S0001 NO [NOPERM] Cannot change system limit
# Ours: DELETED-STORAGE counts octets, the exact sum of the \Deleted
# messages' sizes (section 4.1.4 allows RFC822.SIZE sums).
C: S0003 STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)
S: * STATUS INBOX (MESSAGES 12 DELETED 4 DELETED-STORAGE {{_}})
S: S0003 OK Status complete.
`},
	{name: "RFC 9208 5.3 OVERQUOTA", setup: quotaSetup(42), lits: quotaLits, script: `
C: A003 APPEND saved-messages (\Seen) {{lit:joe}}
S: A003 NO [OVERQUOTA] APPEND Failed
# The example's soft quota lets the COPY through with an untagged NO; our
# limits are hard.
C: s SELECT INBOX
S: ...
S: s OK [READ-WRITE]
C: A004 COPY 2:4 MEETING
S: A004 NO [OVERQUOTA] COPY failed
C: G GETQUOTAROOT MEETING
S: * QUOTAROOT MEETING ""
S: * QUOTA "" (STORAGE {{_}} 512 MESSAGE 42 42)
S: G OK
`},
}

// objectIDLits are three messages, the second a reply to the first.
var objectIDLits = map[string]string{
	"m1": "From: a@example.org\r\nSubject: plan\r\nMessage-ID: <plan@example.org>\r\n\r\nLet's plan.\r\n",
	"m2": "From: b@example.org\r\nSubject: Re: plan\r\nMessage-ID: <re-plan@example.org>\r\nIn-Reply-To: <plan@example.org>\r\nReferences: <plan@example.org>\r\n\r\nYes.\r\n",
	"m3": "From: c@example.org\r\nSubject: other\r\nMessage-ID: <other@example.org>\r\n\r\nSomething else.\r\n",
}

var objectIDExamples = []rfcExample{
	{name: "RFC 8474 4 MAILBOXID in CREATE, SELECT, STATUS, RENAME and LIST", script: `
C: 3 create foo
S: 3 OK [MAILBOXID ({{@foo}})] Completed
C: 4 create bar
S: 4 OK [MAILBOXID ({{@bar}})] Completed
# Ours: with the RFC 5530 code.
C: 5 create foo
S: 5 NO [ALREADYEXISTS] Mailbox already exists
C: 27 select "foo"
S: ...
S: * OK [MAILBOXID ({{@foo}})] Ok
S: 27 OK [READ-WRITE] Completed
C: 6 status foo (mailboxid)
S: * STATUS foo (MAILBOXID ({{@foo}}))
S: 6 OK Completed
C: 7 status bar (mailboxid)
S: * STATUS bar (MAILBOXID ({{@bar}}))
S: 7 OK Completed
# The example's server also says "* OK rename foo renamed".
C: 8 rename foo renamed
S: 8 OK Completed
C: 9 status renamed (mailboxid)
S: * STATUS renamed (MAILBOXID ({{@foo}}))
S: 9 OK Completed
C: 10 status bar (mailboxid)
S: * STATUS bar (MAILBOXID ({{@bar}}))
S: 10 OK Completed
C: 11 list "" "*" return (status (mailboxid))
S: * LIST (\HasNoChildren) "/" INBOX
S: * STATUS INBOX (MAILBOXID ({{@inbox}}))
S: * LIST (\HasNoChildren) "/" bar
S: * STATUS bar (MAILBOXID ({{@bar}}))
S: * LIST (\HasNoChildren) "/" renamed
S: * STATUS renamed (MAILBOXID ({{@foo}}))
# Ours: the special-use mailboxes every account has.
S: ...
S: 11 OK Completed (0.001 secs 3 calls)
`},
	{name: "RFC 8474 5 EMAILID and THREADID survive MOVE; SEARCH by them", lits: objectIDLits,
		setup: func(s *rfcSetup) { s.mailbox("foo", "", nil, nil) },
		script: `
C: s select inbox
S: ...
S: s OK [READ-WRITE]
C: 5 append inbox "20-Mar-2018 03:07:37 +1100" {{lit:m1}}
S: * 1 EXISTS
S: * 1 RECENT
S: 5 OK [APPENDUID {{uv}} 1] Completed
C: 11 append inbox "20-Mar-2018 03:07:37 +1100" {{lit:m2}}
S: * 2 EXISTS
S: * 2 RECENT
S: 11 OK [APPENDUID {{uv}} 2] Completed
C: 17 append inbox "20-Mar-2018 03:07:37 +1100" {{lit:m3}}
S: * 3 EXISTS
S: * 3 RECENT
S: 17 OK [APPENDUID {{uv}} 3] Completed
C: 22 fetch 1:* (emailid threadid)
S: * 1 FETCH (EMAILID ({{@e1}}) THREADID ({{@t1}}))
S: * 2 FETCH (EMAILID ({{@e2}}) THREADID ({{@t1}}))
S: * 3 FETCH (EMAILID ({{@e3}}) THREADID ({{@t3}}))
S: 22 OK Completed (0.000 sec)
C: 23 move 2 foo
S: * OK [COPYUID {{_}} 2 1] Completed
S: * 2 EXPUNGE
S: 23 OK Completed
C: 24 fetch 1:* (emailid threadid)
S: * 1 FETCH (EMAILID ({{@e1}}) THREADID ({{@t1}}))
S: * 2 FETCH (EMAILID ({{@e3}}) THREADID ({{@t3}}))
S: 24 OK Completed (0.000 sec)
C: 27 search emailid {{@e1}}
S: * SEARCH 1
S: 27 OK Completed (1 msgs in 0.000 secs)
C: 28 search threadid {{@t1}}
S: * SEARCH 1
S: 28 OK Completed
C: 25 select "foo"
S: ...
S: 25 OK [READ-WRITE] Completed
C: 26 fetch 1:* (emailid threadid)
S: * 1 FETCH (EMAILID ({{@e2}}) THREADID ({{@t1}}))
S: 26 OK Completed (0.000 sec)
`},
}

var saveDateExamples = []rfcExample{
	{name: "RFC 8514 4 FETCH SAVEDATE and SEARCH SAVEDON, SAVEDSINCE",
		setup: func(s *rfcSetup) {
			s.mailbox("INBOX", "", uidRange(1, 1001), nil)
			now := time.Now().UTC()
			s.vars["today"] = now.Format("2-Jan-2006")
			s.vars["tomorrow"] = now.AddDate(0, 0, 1).Format("2-Jan-2006")
		},
		script: selectPreamble + `
C: A101 FETCH 998 (SAVEDATE)
S: * 998 FETCH (SAVEDATE "...")
S: A101 OK Fetch completed.
# Save dates are when the store saved the message: nothing was saved on
# the example's 28-Dec-2014, everything since, and all of it today.
C: A102 SEARCH SAVEDON 28-Dec-2014
S: * SEARCH
S: A102 OK Search completed.
C: A103 SEARCH RETURN (MIN MAX COUNT) SAVEDSINCE 28-Dec-2014
S: * ESEARCH (TAG "A103") MIN 1 MAX 1001 COUNT 1001
S: A103 OK Search completed.
C: A104 SEARCH SAVEDON {{today}} 993:1001
S: * SEARCH 993 994 995 996 997 998 999 1000 1001
S: A104 OK
C: A105 SEARCH SAVEDBEFORE {{today}}
S: * SEARCH
S: A105 OK
C: A106 SEARCH SAVEDSINCE {{tomorrow}}
S: * SEARCH
S: A106 OK
C: A107 SEARCH RETURN (COUNT) SAVEDATESUPPORTED
S: * ESEARCH (TAG "A107") COUNT 1001
S: A107 OK
`},
}

// replaceLits holds RFC 8508's messages; "fireworks" stands for the
// example's 1.2 MB draft with a small picture.
var replaceLits = map[string]string{
	"r1": "Date: Thu, 1 Jan 2015 00:05:00 -0500 (EST)\r\nFrom: Fritz Schmidt <fritz.ze@example.org>\r\nSubject: happy new year !!\r\n" +
		"To: miss.mitzy@example.org\r\nMessage-Id: <B238822388-0100000@example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nJust saw the best fireworks show. Wish you were here.\r\n",
	"r2": "Date: Thu, 1 Jan 2015 00:06:00 -0500 (EST)\r\nFrom: Fritz Schmidt <fritz.ze@example.org>\r\nSubject: happy new year !!\r\n" +
		"To: miss.mitzy@example.org\r\nMessage-Id: <B238822389-0100000@example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nJust saw the best fireworks show. Wish you were here.\r\nHopefully next year you can join us.\r\n",
	"fireworks": "Date: Thu, 1 Jan 2015 00:10:00 -0500 (EST)\r\nFrom: Fritz Schmidt <fritz.ze@example.org>\r\n" +
		"Message-ID: <B238822388-0100003@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n" +
		"        boundary=\"------------030305060306060609050804\"\r\n\r\n--------------030305060306060609050804\r\n" +
		"Content-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
		"Here is picture from the fireworks\r\n\r\nYours...\r\nFritz\r\n\r\n--------------030305060306060609050804\r\n" +
		"Content-Type: image/jpeg;\r\n        name=\"Fireworks.jpg\"\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment;\r\n        filename=\"Fireworks.jpg\"\r\n\r\n/9j/4AAQSkZJRgABAQEASABIAAD/2wBD\r\n\r\n" +
		"--------------030305060306060609050804--\r\n",
	"to": "To: Mitzy <miss.mitzy@example.org>\r\nSubject: My view of the fireworks\r\n",
}

var replaceExamples = []rfcExample{
	{name: "RFC 8508 3.2 and 3.3 REPLACE and UID REPLACE", lits: replaceLits,
		setup: func(s *rfcSetup) { s.mailbox("Drafts", "uv", uidRange(1, 4), nil) },
		script: `
# The example's UIDs 2000 and 2001 are 5 and 6 here.
C: s SELECT Drafts
S: ...
S: s OK [READ-WRITE]
# Ours, for IMAP4rev1 clients: the replacement is \Recent in this session.
C: A003 REPLACE 4 Drafts (\Seen \Draft) {{lit:r1}}
S: * OK [APPENDUID {{uv}} 5] Replacement Message ready
S: * 5 EXISTS
S: * 1 RECENT
S: * 4 EXPUNGE
S: A003 OK Replace completed
C: A004 UID REPLACE 5 Drafts (\Seen \Draft) {{lit:r2}}
S: * OK [APPENDUID {{uv}} 6] Replacement Message ready
S: * 5 EXISTS
S: * 2 RECENT
S: * 4 EXPUNGE
S: A004 OK Replace completed
`},
	{name: "RFC 8508 4.2 REPLACE with CATENATE", lits: replaceLits,
		setup: func(s *rfcSetup) { s.mailbox("Drafts", "uv", uidRange(1, 3), nil) },
		script: `
# The example's UIDs 3002 and 3003 are 4 and 5 here.
C: s SELECT Drafts
S: ...
S: s OK [READ-WRITE]
# Ours: Drafts is selected, so the new draft is announced.
C: A010 APPEND Drafts (\Seen \Draft) {{lit:fireworks}}
S: * 4 EXISTS
S: * 1 RECENT
S: A010 OK [APPENDUID {{uv}} 4] APPEND complete
C: A011 UID REPLACE 4 Drafts CATENATE (TEXT {{lit:to}} URL "/Drafts/;UID=4")
S: * OK [APPENDUID {{uv}} 5] Replacement Message ready
S: * 5 EXISTS
S: * 2 RECENT
S: * 4 EXPUNGE
S: A011 OK REPLACE completed
C: f UID FETCH 5 (BODY.PEEK[HEADER.FIELDS (To Subject Date)])
S: * 4 FETCH (UID 5 BODY[HEADER.FIELDS (To Subject Date)] {117}To: Mitzy <miss.mitzy@example.org>\r\nSubject: My view of the fireworks\r\nDate: Thu, 1 Jan 2015 00:10:00 -0500 (EST)\r\n\r\n)
S: f OK
`},
}

var partialExamples = []rfcExample{
	{name: "RFC 9394 3.1 SEARCH RETURN (PARTIAL)",
		setup: func(s *rfcSetup) {
			mb := s.mailbox("INBOX", "", uidRange(1, 160), nil)
			s.flags(mb, store.FlagsAdd, store.FlagDeleted, nil, uidRange(1, 5)...)
			s.flags(mb, store.FlagsAdd, 0, []string{"$Junk"}, uidRange(6, 10)...)
		},
		script: selectPreamble + `
# The examples' 23764 results are 150 here (UIDs 11 to 160): 23500:24000
# becomes 101:200, which spans the end, 1:500 becomes 1:50, and
# 24000:24500 becomes 200:250, beyond the end.
C: A01 UID SEARCH RETURN (PARTIAL -1:-100) UNDELETED UNKEYWORD $Junk
S: * ESEARCH (TAG "A01") UID PARTIAL (-1:-100 61:160)
S: A01 OK Completed.
C: A02 UID SEARCH RETURN (PARTIAL 101:200) UNDELETED UNKEYWORD $Junk
C: A03 UID SEARCH RETURN (PARTIAL 1:50) UNDELETED UNKEYWORD $Junk
C: A04 UID SEARCH RETURN (PARTIAL 200:250) UNDELETED UNKEYWORD $Junk
S: * ESEARCH (TAG "A02") UID PARTIAL (101:200 111:160)
S: A02 OK Completed.
S: * ESEARCH (TAG "A03") UID PARTIAL (1:50 11:60)
S: A03 OK Completed.
S: * ESEARCH (TAG "A04") UID PARTIAL (200:250 NIL)
S: A04 OK Completed.
`},
	{name: "RFC 9394 3.3 and 3.4 UID FETCH (PARTIAL), with CHANGEDSINCE",
		setup: func(s *rfcSetup) {
			// The examples' UIDs less 25000. Their last three messages
			// (25996, 25997, 26600) contradict their first five (up to
			// 26498); here the last three are 1550, 1551 and 1600.
			mb := s.mailbox("INBOX", "", []int{900, 902, 1310, 1311, 1498, 1550, 1551, 1600, 1700}, nil)
			s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, 900, 1550)
			s.flags(mb, store.FlagsAdd, store.FlagFlagged, nil, 902)
			s.flags(mb, store.FlagsAdd, store.FlagAnswered, nil, 1310, 1498)
			s.highest(mb, "since")
			s.flags(mb, store.FlagsAdd, store.FlagFlagged|store.FlagAnswered, nil, 1551)
			s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, 1600)
			s.flags(mb, store.FlagsRemove, store.FlagSeen, nil, 1600)
		},
		script: selectPreamble + `
C: 10 UID FETCH 900:1600 (UID FLAGS) (PARTIAL -1:-3)
S: * 6 FETCH (FLAGS (\Seen) UID 1550)
S: * 7 FETCH (FLAGS (\Flagged \Answered) UID 1551)
S: * 8 FETCH (FLAGS () UID 1600)
S: 10 OK FETCH completed
C: 11 UID FETCH 900:1600 (UID FLAGS) (PARTIAL 1:5)
S: * 1 FETCH (FLAGS (\Seen) UID 900)
S: * 2 FETCH (FLAGS (\Flagged) UID 902)
S: * 3 FETCH (FLAGS (\Answered) UID 1310)
S: * 4 FETCH (FLAGS () UID 1311)
S: * 5 FETCH (FLAGS (\Answered) UID 1498)
S: 11 OK FETCH completed
# CHANGEDSINCE is the session's first CONDSTORE enabling command, so the
# mailbox's HIGHESTMODSEQ comes first (RFC 7162 section 3.1).
C: 101 UID FETCH 900:1600 (UID FLAGS) (PARTIAL -1:-30 CHANGEDSINCE {{since}})
S: * OK [HIGHESTMODSEQ {{_}}]
S: * 7 FETCH (FLAGS (\Flagged \Answered) MODSEQ ({{_}}) UID 1551)
S: * 8 FETCH (FLAGS () MODSEQ ({{_}}) UID 1600)
S: 101 OK FETCH completed
C: 102 UID FETCH 900:1600 (UID FLAGS) (CHANGEDSINCE {{since}} PARTIAL -1:-30)
S: * 7 FETCH (FLAGS (\Flagged \Answered) MODSEQ ({{_}}) UID 1551)
S: * 8 FETCH (FLAGS () MODSEQ ({{_}}) UID 1600)
S: 102 OK FETCH completed
`},
}

// catenateSetup makes RFC 4469 appendix A's mailboxes: Drafts with UID 20
// (text and zip), 21 (text and slides) and 30, its UIDNEXT 45; INBOX
// with UIDs 467 and 916 (the example's 11467 and 11916).
func catenateSetup(s *rfcSetup) {
	part := func(boundary, second string) string {
		return "From: Bob Ar <bar@example.org>\r\nTo: foo@example.net\r\nSubject: About our holiday trip\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"" + boundary + "\"\r\n\r\n--" + boundary + "\r\n" +
			"Content-Type: text/plain; charset=us-ascii; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
			"Our travel agent has sent the schedule.\r\n\r\nCheers,\r\nBob\r\n--" + boundary + "\r\n" + second +
			"\r\n--" + boundary + "--\r\n"
	}
	s.mailbox("Drafts", "uv", []int{20, 21, 30, 44}, func(uid int) string {
		switch uid {
		case 20:
			return part("------------030308070208000400050907", "Content-Type: application/x-zip-compressed; name=\"trip.zip\"\r\n"+
				"Content-Transfer-Encoding: base64\r\n\r\nUEsDBBQAAAAIAAAAIQA=")
		case 21:
			return part("------------030308070208000400050903", "Content-Type: application/vnd.ms-powerpoint; name=\"trip.ppt\"\r\n"+
				"Content-Transfer-Encoding: base64\r\n\r\n0M8R4KGxGuE=")
		}
		return rfcMessage(uid)
	})
	s.mailbox("INBOX", "iuv", []int{467, 916}, nil)
	s.mailbox("Sent", "", nil, nil)
}

const catBoundary = "--------------030308070208000400050907"

var catenateLits = map[string]string{
	"b":   "\r\n" + catBoundary + "\r\n",
	"end": "\r\n" + catBoundary + "--\r\n",
	"ex2": "Return-Path: <bar@example.org>\r\nReceived: from [127.0.0.2]\r\n          by rufus.example.org via TCP (internal) with ESMTPA;\r\n" +
		"          Thu, 11 Nov 2004 16:57:07 +0000\r\nMessage-ID: <419399E1.6000505@example.org>\r\nDate: Thu, 12 Nov 2004 16:57:05 +0000\r\n" +
		"From: Bob Ar <bar@example.org>\r\nX-Accept-Language: en-us, en\r\nMIME-Version: 1.0\r\nTo: foo@example.net\r\n" +
		"Subject: About our holiday trip\r\nContent-Type: multipart/mixed;\r\n              boundary=\"" + catBoundary[2:] + "\"\r\n\r\n" +
		catBoundary + "\r\nContent-Type: text/plain; charset=us-ascii; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
		"Our travel agent has sent the updated schedule.\r\n\r\nCheers,\r\nBob\r\n" + catBoundary + "\r\n",
	"b3": "\r\n--------------030308070208000400050903\r\n",
	"ex3": "\r\n--------------030308070208000400050903\r\nContent-type: text/plain; charset=\"us-ascii\"\r\n" +
		"Content-transfer-encoding: 7bit\r\n\r\nThis body part contained a Power Point presentation that was\r\n" +
		"deleted upon your request.\r\n--------------030308070208000400050903--\r\n",
	"ex4": "Return-Path: <foo@example.org>\r\nMessage-ID: <419399E1.6000505@example.org>\r\nDate: Thu, 21 Nov 2004 16:57:05 +0000\r\n" +
		"From: Farren Oo <foo@example.org>\r\nMIME-Version: 1.0\r\nTo: bar@example.org\r\nSubject: Digest of the mailing list for today\r\n" +
		"Content-Type: multipart/digest;\r\n              boundary=\"------------030308070208000400050904\"\r\n\r\n" +
		"--------------030308070208000400050904\r\n",
	"b4":   "\r\n--------------030308070208000400050904\r\n",
	"end4": "\r\n--------------030308070208000400050904--\r\n",
}

var catenateExamples = []rfcExample{
	{name: "RFC 4469 A example 1: replace an attachment", setup: catenateSetup, lits: catenateLits, script: `
# Ours: UIDPLUS's APPENDUID in the tagged OK (as in example 2).
C: A003 APPEND Drafts (\Seen \Draft $MDNSent) CATENATE (URL "/Drafts;UIDVALIDITY={{uv}}/;UID=20/;section=HEADER" TEXT {{lit:b}} URL "/Drafts;UIDVALIDITY={{uv}}/;UID=20/;section=1.MIME" URL "/Drafts;UIDVALIDITY={{uv}}/;UID=20/;section=1" TEXT {{lit:b}} URL "/Drafts;UIDVALIDITY={{uv}}/;UID=30" TEXT {{lit:end}})
S: A003 OK [APPENDUID {{uv}} 45] catenate append completed
`},
	{name: "RFC 4469 A example 2: new text, the attachment kept", setup: catenateSetup, lits: catenateLits, script: `
C: s SELECT Drafts
S: ...
S: s OK [READ-WRITE]
# Ours: Drafts is selected, so the new message is announced.
C: A003 APPEND Drafts (\Seen \Draft $MDNSent) CATENATE (TEXT {{lit:ex2}} URL "/Drafts;UIDVALIDITY={{uv}}/;UID=20/;Section=2.MIME" URL "/Drafts;UIDVALIDITY={{uv}}/;UID=20/;Section=2" TEXT {{lit:end}})
S: * 5 EXISTS
S: * 1 RECENT
S: * FLAGS (...)
S: * OK [PERMANENTFLAGS (...)]
S: A003 OK [APPENDUID {{uv}} 45] append Completed
C: A004 UID STORE 20 +FLAGS.SILENT (\Deleted)
S: A004 OK STORE completed
C: f UID FETCH 45 (BODYSTRUCTURE)
# The new text part, and the draft's attachment as it was.
S: * 5 FETCH (UID 45 BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii" "format" "flowed") NIL NIL "7BIT" 63 3 NIL NIL NIL NIL)("application" "x-zip-compressed" ("name" "trip.zip") NIL NIL "BASE64" 20 NIL NIL NIL NIL) "mixed" ("boundary" "------------030308070208000400050907") NIL NIL NIL))
S: f OK
`},
	{name: "RFC 4469 A example 3: strip an attachment", setup: catenateSetup, lits: catenateLits, script: `
C: A003 APPEND Drafts (\Seen \Draft $MDNSent) CATENATE (URL "/Drafts;UIDVALIDITY={{uv}}/;UID=21/;section=HEADER" TEXT {{lit:b3}} URL "/Drafts;UIDVALIDITY={{uv}}/;UID=21/;section=1.MIME" URL "/Drafts;UIDVALIDITY={{uv}}/;UID=21/;section=1" TEXT {{lit:ex3}})
S: A003 OK [APPENDUID {{uv}} 45] append Completed
`},
	{name: "RFC 4469 A example 4: BADURL", setup: catenateSetup, lits: catenateLits, script: `
# The example's UIDs 11467 and 11916 are 467 and 916 here. Its BADURL
# quotes the URL and drops a "/": ours is the URL as sent, as the ABNF
# has it (url-resp-text).
C: A003 APPEND Sent (\Seen $MDNSent) CATENATE (TEXT {{lit:ex4}} URL "/INBOX;UIDVALIDITY={{iuv}}/;UID=467" TEXT {{lit:b4}} URL "/INBOX;UIDVALIDITY={{iuv}}/;UID=113330/;section=1.5.9" TEXT {{lit:b4}} URL "/INBOX;UIDVALIDITY={{iuv}}/;UID=916" TEXT {{lit:end4}})
S: A003 NO [BADURL /INBOX;UIDVALIDITY={{iuv}}/;UID=113330/;section=1.5.9] CATENATE append has failed, one message expunged
C: b STATUS Sent (MESSAGES)
S: * STATUS Sent (MESSAGES 0)
S: b OK
`},
}

var multisearchExamples = []rfcExample{
	{name: "RFC 7377 3 ESEARCH IN, pipelined",
		setup: func(s *rfcSetup) {
			// The example's UIDs (4001, 921691, ...) are smaller here.
			mb := s.mailbox("folder1", "uv1", uidRange(1, 9), func(uid int) string {
				if uid <= 4 {
					return "Subject: chad\r\n\r\nhanging\r\n"
				}
				return rfcMessage(uid)
			})
			s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, 2, 4, 6, 8)
			mb = s.mailbox("folder2/banana", "uvb", uidRange(1, 4), nil)
			s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, 1, 3)
			mb = s.mailbox("folder2/peach", "uvp", uidRange(1, 2), nil)
			s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, 2)
			mb = s.mailbox("folder2/salmon", "uvs", uidRange(1, 12), func(uid int) string {
				if uid%3 == 0 {
					return "Subject: Re: chad\r\n\r\npregnant\r\n"
				}
				return rfcMessage(uid)
			})
			s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, uidRange(1, 12)...)
			mb = s.mailbox("folder2/salmon/roe", "", uidRange(1, 1), func(int) string { return "Subject: chad\r\n\r\ndimpled\r\n" })
			s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, 1)
		},
		script: `
# Ours runs the two one after the other, so each command's responses
# come before its tagged OK.
C: tag1 ESEARCH IN (mailboxes "folder1" subtree "folder2") unseen
C: tag2 ESEARCH IN (mailboxes "folder1" subtree-one "folder2") subject "chad"
S: * ESEARCH (TAG "tag1" MAILBOX "folder1" UIDVALIDITY {{uv1}}) UID ALL 1,3,5,7,9
S: * ESEARCH (TAG "tag2" MAILBOX "folder1" UIDVALIDITY {{uv1}}) UID ALL 1:4
S: * ESEARCH (TAG "tag1" MAILBOX "folder2/banana" UIDVALIDITY {{uvb}}) UID ALL 2,4
S: * ESEARCH (TAG "tag1" MAILBOX "folder2/peach" UIDVALIDITY {{uvp}}) UID ALL 1
S: tag1 OK done
S: * ESEARCH (TAG "tag2" MAILBOX "folder2/salmon" UIDVALIDITY {{uvs}}) UID ALL 3,6,9,12
S: tag2 OK done
`},
}

var compressExamples = []rfcExample{
	{name: "RFC 4978 3 COMPRESS DEFLATE", script: `
# After the OK the stream is compressed (compress_test.go goes on with
# zlib); the example's tagged response has a different tag ("d") by a
# typo.
C: c compress deflate
S: c OK DEFLATE active
`},
}
