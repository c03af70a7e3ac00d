package match

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"postfach/internal/store"
)

// Message is what criteria are evaluated against.
type Message struct {
	UID          store.UID
	ModSeq       store.ModSeq
	Flags        store.Flags
	Keywords     []string
	InternalDate time.Time
	Size         int64
	// SentDate is the parsed Date: header field; zero when the message has
	// none that parses. Such a message matches neither SentSince nor
	// SentBefore.
	SentDate time.Time
	// SaveDate is when the message was stored in its mailbox (RFC 8514).
	SaveDate time.Time
	// Content gives the header and body; it is consulted only for Header,
	// Body and Text criteria, and may be nil when there are none.
	Content Content
}

// Content is a message's header and body text.
type Content interface {
	// Header returns the decoded values of the top-level header fields
	// named name (lower case), each passed through Fold, in header order;
	// nil when the message has no such field.
	Header(name string) ([]string, error)
	// WriteHeader writes the decoded top-level header section to w.
	WriteHeader(w io.Writer) error
	// WriteBody writes the decoded text of the body to w.
	WriteBody(w io.Writer) error
}

// Matcher is compiled criteria.
type Matcher struct {
	root node
	// Needles searched in the body (Body and the body half of Text) and in
	// the header section (the header half of Text), folded; nodes refer to
	// them by index so that each message's body is scanned once.
	bodyNeedles, headerNeedles []string
	nameNeedles                []string // attachment names (FUZZY TEXT)
	content                    bool
}

type node struct {
	c           *store.SearchCriteria
	headers     []headerNeedle
	body, text  []int // indexes into bodyNeedles; text also into headerNeedles
	textHdr     []int
	fuzzy       []fuzzyNode
	not         []node
	or          [][2]node
	since       int64 // civil days; valid when c.Since is set
	before      int64
	sentSince   int64
	sentBefore  int64
	keywords    []string
	notKeywords []string
}

type headerNeedle struct {
	field string // lower case
	value string // folded
}

// Compile prepares c for matching. c must not change while the Matcher is
// in use.
func Compile(c *store.SearchCriteria) (*Matcher, error) {
	m := &Matcher{}
	root, err := m.compile(c, 0)
	if err != nil {
		return nil, err
	}
	m.root = root
	return m, nil
}

// maxDepth bounds nesting of Not and Or: criteria come from clients.
const maxDepth = 100

func (m *Matcher) compile(c *store.SearchCriteria, depth int) (node, error) {
	if depth > maxDepth {
		return node{}, errors.New("match: criteria nested too deeply")
	}
	n := node{c: c}
	for _, h := range c.Header {
		n.headers = append(n.headers, headerNeedle{strings.ToLower(h.Field), Fold(h.Value)})
		m.content = true
	}
	for _, s := range c.Body {
		n.body = append(n.body, len(m.bodyNeedles))
		m.bodyNeedles = append(m.bodyNeedles, Fold(s))
		m.content = true
	}
	for _, s := range c.Text {
		n.text = append(n.text, len(m.bodyNeedles))
		m.bodyNeedles = append(m.bodyNeedles, Fold(s))
		n.textHdr = append(n.textHdr, len(m.headerNeedles))
		m.headerNeedles = append(m.headerNeedles, Fold(s))
		m.content = true
	}
	if err := m.compileFuzzy(&n, c); err != nil {
		return node{}, err
	}
	if !c.Since.IsZero() {
		n.since = CivilDay(c.Since)
	}
	if !c.Before.IsZero() {
		n.before = CivilDay(c.Before)
	}
	if !c.SentSince.IsZero() {
		n.sentSince = CivilDay(c.SentSince)
	}
	if !c.SentBefore.IsZero() {
		n.sentBefore = CivilDay(c.SentBefore)
	}
	for _, sub := range c.Not {
		sn, err := m.compile(&sub, depth+1)
		if err != nil {
			return node{}, err
		}
		n.not = append(n.not, sn)
	}
	for _, pair := range c.Or {
		a, err := m.compile(&pair[0], depth+1)
		if err != nil {
			return node{}, err
		}
		b, err := m.compile(&pair[1], depth+1)
		if err != nil {
			return node{}, err
		}
		n.or = append(n.or, [2]node{a, b})
	}
	return n, nil
}

// NeedsContent reports whether matching may consult Message.Content.
func (m *Matcher) NeedsContent() bool { return m.content }

// CivilDay returns the calendar date of t in t's own zone as a count of
// days since 1970-01-01. SEARCH compares dates this way, ignoring time of
// day and zone (RFC 9051 section 6.4.4).
func CivilDay(t time.Time) int64 {
	_, off := t.Zone()
	return floorDiv(t.Unix()+int64(off), 86400)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// eval is the per-message state: the lazily computed scans.
type eval struct {
	m          *Matcher
	msg        *Message
	bodyFound  []bool
	hdrFound   []bool
	nameFound  []bool
	headerVals map[string][]string
}

// Match reports whether msg matches.
func (m *Matcher) Match(msg *Message) (bool, error) {
	e := &eval{m: m, msg: msg}
	return e.node(&m.root)
}

func (e *eval) node(n *node) (bool, error) {
	c, msg := n.c, e.msg
	for _, set := range c.UIDs {
		if !set.Contains(msg.UID) {
			return false, nil
		}
	}
	if msg.Flags&c.Flags != c.Flags || msg.Flags&c.NotFlags != 0 {
		return false, nil
	}
	for _, kw := range c.Keywords {
		if !store.HasKeyword(msg.Keywords, kw) {
			return false, nil
		}
	}
	for _, kw := range c.NotKeywords {
		if store.HasKeyword(msg.Keywords, kw) {
			return false, nil
		}
	}
	for _, l := range c.Larger {
		if msg.Size <= l {
			return false, nil
		}
	}
	for _, s := range c.Smaller {
		if msg.Size >= s {
			return false, nil
		}
	}
	if c.ModSeq != 0 && msg.ModSeq < c.ModSeq {
		return false, nil
	}
	if !c.Since.IsZero() || !c.Before.IsZero() {
		d := CivilDay(msg.InternalDate)
		if !c.Since.IsZero() && d < n.since || !c.Before.IsZero() && d >= n.before {
			return false, nil
		}
	}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		if msg.SentDate.IsZero() {
			return false, nil
		}
		d := CivilDay(msg.SentDate)
		if !c.SentSince.IsZero() && d < n.sentSince || !c.SentBefore.IsZero() && d >= n.sentBefore {
			return false, nil
		}
	}
	if !c.SavedSince.IsZero() || !c.SavedBefore.IsZero() {
		d := CivilDay(msg.SaveDate.UTC())
		if !c.SavedSince.IsZero() && d < CivilDay(c.SavedSince) || !c.SavedBefore.IsZero() && d >= CivilDay(c.SavedBefore) {
			return false, nil
		}
	}
	if !c.Younger.IsZero() && !msg.InternalDate.After(c.Younger) {
		return false, nil
	}
	if !c.Older.IsZero() && !msg.InternalDate.Before(c.Older) {
		return false, nil
	}
	for _, h := range n.headers {
		ok, err := e.header(h)
		if err != nil || !ok {
			return false, err
		}
	}
	for _, i := range n.body {
		found, err := e.body()
		if err != nil || !found[i] {
			return false, err
		}
	}
	for k, i := range n.text {
		found, err := e.body()
		if err != nil {
			return false, err
		}
		if found[i] {
			continue
		}
		hfound, err := e.headerText()
		if err != nil || !hfound[n.textHdr[k]] {
			return false, err
		}
	}
	for i := range n.fuzzy {
		ok, err := e.fuzzy(&n.fuzzy[i])
		if err != nil || !ok {
			return false, err
		}
	}
	for i := range n.not {
		ok, err := e.node(&n.not[i])
		if err != nil || ok {
			return false, err
		}
	}
	for i := range n.or {
		ok, err := e.node(&n.or[i][0])
		if err != nil {
			return false, err
		}
		if !ok {
			if ok, err = e.node(&n.or[i][1]); err != nil || !ok {
				return false, err
			}
		}
	}
	return true, nil
}

var errNoContent = errors.New("match: criteria need the message content, but none was given")

func (e *eval) header(h headerNeedle) (bool, error) {
	vals, ok := e.headerVals[h.field]
	if !ok {
		if e.msg.Content == nil {
			return false, errNoContent
		}
		var err error
		vals, err = e.msg.Content.Header(h.field)
		if err != nil {
			return false, fmt.Errorf("match: reading header %s: %w", h.field, err)
		}
		if e.headerVals == nil {
			e.headerVals = map[string][]string{}
		}
		e.headerVals[h.field] = vals
	}
	if vals == nil {
		return false, nil
	}
	if h.value == "" {
		return true, nil // RFC 9051 section 6.4.4: the field is present
	}
	for _, v := range vals {
		if strings.Contains(v, h.value) {
			return true, nil
		}
	}
	return false, nil
}

func (e *eval) body() ([]bool, error) {
	if e.bodyFound == nil {
		if e.msg.Content == nil {
			return nil, errNoContent
		}
		t := newTextScanner(e.m.bodyNeedles)
		if err := e.msg.Content.WriteBody(t); err != nil && !errors.Is(err, errAllFound) {
			return nil, fmt.Errorf("match: reading body: %w", err)
		}
		e.bodyFound = t.finish()
	}
	return e.bodyFound, nil
}

func (e *eval) headerText() ([]bool, error) {
	if e.hdrFound == nil {
		if e.msg.Content == nil {
			return nil, errNoContent
		}
		t := newTextScanner(e.m.headerNeedles)
		if err := e.msg.Content.WriteHeader(t); err != nil && !errors.Is(err, errAllFound) {
			return nil, fmt.Errorf("match: reading header: %w", err)
		}
		e.hdrFound = t.finish()
	}
	return e.hdrFound, nil
}
