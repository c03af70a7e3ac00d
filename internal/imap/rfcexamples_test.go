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
//   - {{name}} in an S: line matches a number and binds it; later
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
	for _, st := range steps {
		c := session(st.session)
		line := substitute(t, st.command, s.vars, ex.lits)
		tag, _, _ := strings.Cut(st.command, " ")
		if strings.EqualFold(st.command, "DONE") {
			tag = pending[st.session]
		}
		c.Write(line + "\r\n")
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

var varRE = regexp.MustCompile(`\{\{([a-z_][a-z0-9_]*)(?::([a-z0-9_]+))?\}\}`)

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
	if len(expect) == 0 {
		return fmt.Errorf("the script expects no response")
	}
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
			re.WriteString(`(\d+)`)
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

// setup172 makes RFC 7162 section 3.1.2.1's INBOX: 172 messages, UIDNEXT
// 4392, the first unseen the 12th, one recent.
func setup172(s *rfcSetup) {
	s.keepRecent = true
	mb := s.mailbox("INBOX", "uv", uidRange(4220, 4390), nil)
	s.flags(mb, store.FlagsAdd, store.FlagSeen, nil, uidRange(4220, 4230)...)
	if _, err := s.mail.ClaimRecent(s.ctx, mb.ID); err != nil {
		s.t.Fatal(err)
	}
	s.mailbox("INBOX", "", uidRange(4220, 4391), nil)
}

// messages makes INBOX hold UIDs 1..n.
func messages(n int) func(s *rfcSetup) {
	return func(s *rfcSetup) { s.mailbox("INBOX", "uv", uidRange(1, n), nil) }
}

var condstoreExamples = []rfcExample{
	{name: "RFC 7162 3.1.2.1 SELECT reports HIGHESTMODSEQ", setup: setup172, script: `
# Ours: PERMANENTFLAGS lists every flag (all can be stored), and OBJECTID
# (RFC 8474) adds MAILBOXID.
C: A142 SELECT INBOX
S: * 172 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 12] Message 12 is first unseen
S: * OK [UIDVALIDITY {{uv}}] UIDs valid
S: * OK [UIDNEXT 4392] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Limited
S: * OK [HIGHESTMODSEQ {{_}}]
S: * OK [MAILBOXID (...)] Ok
S: A142 OK [READ-WRITE] SELECT completed
`},
	{name: "RFC 7162 3.1.8 SELECT (CONDSTORE)", setup: setup172, script: `
C: A142 SELECT INBOX (CONDSTORE)
S: * 172 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 12] Message 12 is first unseen
S: * OK [UIDVALIDITY {{uv}}] UIDs valid
S: * OK [UIDNEXT 4392] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Limited
S: * OK [HIGHESTMODSEQ {{_}}]
S: * OK [MAILBOXID (...)] Ok
S: A142 OK [READ-WRITE] SELECT completed, CONDSTORE is now enabled
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
			mb := s.mailbox("INBOX", "", []int{2998, 2999, 3000, 3001, 3002, 3003}, nil)
			s.flags(mb, store.FlagsAdd, store.FlagDeleted, nil, 3000, 3001, 3002, 3003)
		},
		script: condstorePreamble + `
C: . UID EXPUNGE 3000:3002
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

var (
	metadataExamples    []rfcExample
	quotaExamples       []rfcExample
	objectIDExamples    []rfcExample
	saveDateExamples    []rfcExample
	replaceExamples     []rfcExample
	partialExamples     []rfcExample
	catenateExamples    []rfcExample
	multisearchExamples []rfcExample
	compressExamples    []rfcExample
)

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
