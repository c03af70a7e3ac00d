package wire

// ESearchArgs: ESEARCH [SP "IN" SP "(" source-mbox [SP "(" scope-options
// ")"] ")"] [SP search-return-opts] SP search-program (RFC 7377 section
// 4). The part after the source options is a SEARCH's.
type ESearchArgs struct {
	// Sources are the mailbox filters of IN; nil when absent, which
	// means the selected mailbox (section 2.2).
	Sources []MailboxFilter
	Search  *SearchArgs
}

// MailboxFilter is one filter-mailboxes of RFC 5465 section 8, as RFC
// 7377 section 4 amends it: SELECTED, INBOXES, PERSONAL, SUBSCRIBED,
// SUBTREE, SUBTREE-ONE or MAILBOXES (upper case).
type MailboxFilter struct {
	Filter string
	// Mailboxes are the names of SUBTREE, SUBTREE-ONE and MAILBOXES, as
	// sent.
	Mailboxes []string
}

// maxSourceMailboxes bounds the names one ESEARCH lists.
const maxSourceMailboxes = 1000

func (r *Reader) parseESearch() *ESearchArgs {
	a := &ESearchArgs{}
	if r.peek() == ' ' && r.peekAt(1) != 0 {
		save := r.pos
		r.pos++
		if r.takeKeyword("IN") {
			r.sp()
			a.Sources = r.sourceMailboxes()
		} else {
			r.pos = save
		}
	}
	a.Search = r.parseSearch()
	return a
}

// sourceMailboxes reads "(" filter-mailboxes *(SP filter-mailboxes) [SP
// "(" scope-options ")"] ")".
func (r *Reader) sourceMailboxes() []MailboxFilter {
	r.expect('(')
	var out []MailboxFilter
	names := 0
	for {
		f := r.mailboxFilter()
		names += len(f.Mailboxes)
		if names > maxSourceMailboxes {
			r.fail("too many mailboxes")
		}
		out = append(out, f)
		if r.takeIf(')') {
			return out
		}
		r.sp()
		if r.peek() == '(' {
			// RFC 7377 defines no scope option; RFC 4466 wants unknown
			// ones refused.
			r.fail("unknown ESEARCH scope option")
		}
	}
}

// mailboxFilter reads one filter-mailboxes: "selected" / "inboxes" /
// "personal" / "subscribed" / ("subtree" / "subtree-one" / "mailboxes")
// SP one-or-more-mailbox. "selected-delayed" is not valid in ESEARCH
// (RFC 7377 section 2.2).
func (r *Reader) mailboxFilter() MailboxFilter {
	var f MailboxFilter
	var buf [16]byte
	switch name := string(r.keyword(buf[:])); name {
	case "SELECTED":
		f.Filter = "SELECTED"
	case "INBOXES":
		f.Filter = "INBOXES"
	case "PERSONAL":
		f.Filter = "PERSONAL"
	case "SUBSCRIBED":
		f.Filter = "SUBSCRIBED"
	case "SUBTREE", "SUBTREE-ONE", "MAILBOXES":
		switch name {
		case "SUBTREE":
			f.Filter = "SUBTREE"
		case "SUBTREE-ONE":
			f.Filter = "SUBTREE-ONE"
		default:
			f.Filter = "MAILBOXES"
		}
		r.sp()
		// one-or-more-mailbox = mailbox / many-mailboxes
		if r.takeIf('(') {
			for {
				f.Mailboxes = append(f.Mailboxes, r.mailbox())
				if len(f.Mailboxes) > maxSourceMailboxes {
					r.fail("too many mailboxes")
				}
				if r.takeIf(')') {
					break
				}
				r.sp()
			}
		} else {
			f.Mailboxes = []string{r.mailbox()}
		}
	default:
		r.fail("unknown mailbox filter")
	}
	return f
}
