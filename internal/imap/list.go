package imap

import (
	"context"
	"sort"
	"strings"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// listNode is one name in the account's hierarchy: an existing mailbox, a
// subscription, or a level of hierarchy above existing mailboxes.
type listNode struct {
	name       string
	mbox       *store.Mailbox // nil when no such mailbox exists
	subscribed bool
	children   bool // some existing mailbox lies below
	// subscribedBelow: some subscribed name lies below (CHILDINFO).
	subscribedBelow bool
}

// hierarchy builds every name LIST may report, sorted with INBOX first.
func (c *session) hierarchy(ctx context.Context) ([]*listNode, error) {
	mboxes, err := c.mail.Mailboxes(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := c.mail.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	nodes := make(map[string]*listNode, len(mboxes))
	get := func(name string) *listNode {
		n := nodes[name]
		if n == nil {
			n = &listNode{name: name}
			nodes[name] = n
		}
		return n
	}
	for i := range mboxes {
		n := get(mboxes[i].Name)
		n.mbox = &mboxes[i]
		for p := parentName(n.name); p != ""; p = parentName(p) {
			get(p).children = true
		}
	}
	for _, s := range subs {
		get(s).subscribed = true
		for p := parentName(s); p != ""; p = parentName(p) {
			get(p).subscribedBelow = true
		}
	}
	out := make([]*listNode, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].name, out[j].name
		if (a == "INBOX") != (b == "INBOX") {
			return a == "INBOX"
		}
		return a < b
	})
	return out, nil
}

func parentName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i > 0 {
		return name[:i]
	}
	return ""
}

// cmdList runs LIST in its basic and extended forms (RFC 9051 section
// 6.3.9, RFC 5258, RFC 6154, RFC 5819).
func (c *session) cmdList(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.ListArgs)
	if args.SelectRecursiveMatch && !args.SelectSubscribed && !args.SelectSpecialUse {
		// RFC 9051 section 6.3.9.1: RECURSIVEMATCH alone is an error.
		return errBad("", "RECURSIVEMATCH needs another selection option")
	}
	if len(args.ReturnStatus) > 0 {
		if err := checkStatusItems(args.ReturnStatus); err != nil {
			return err
		}
	}
	var meta *listMetadata // RFC 9590, listmetadata.go
	if args.ReturnMetadata != nil {
		var err error
		if meta, err = newListMetadata(args.ReturnMetadata); err != nil {
			return err
		}
		defer func() { c.okCode = meta.okCode() }()
	}
	if !args.Extended && len(args.Patterns) == 1 && args.Patterns[0] == "" {
		// The basic form's empty pattern asks for the delimiter.
		c.w.Raw(`* LIST (\Noselect) "/" ""`)
		c.w.CRLF()
		return nil
	}
	ref, err := c.mailboxPattern(args.Reference)
	if err != nil {
		return nil // unusable patterns are silently ignored
	}
	var patterns []string
	for _, p := range args.Patterns {
		if p == "" {
			continue
		}
		pat, err := c.mailboxPattern(p)
		if err != nil {
			continue
		}
		patterns = append(patterns, canonicalPattern(ref, pat))
	}
	if len(patterns) == 0 {
		return nil
	}
	nodes, err := c.hierarchy(ctx)
	if err != nil {
		return err
	}
	returnSubscribed := args.ReturnSubscribed || args.SelectSubscribed
	for _, n := range nodes {
		if !matchAny(patterns, n.name) {
			continue
		}
		var attrs []string
		childInfo := false
		switch {
		case args.SelectSubscribed:
			if !n.subscribed {
				if !(args.SelectRecursiveMatch && n.subscribedBelow) {
					continue
				}
				childInfo = true
			}
		case args.SelectSpecialUse:
			if n.mbox == nil || len(n.mbox.SpecialUse) == 0 {
				continue
			}
		default:
			if n.mbox == nil && !n.children {
				continue // a subscription to nothing
			}
		}
		if n.mbox == nil {
			if args.Extended || c.rev2 {
				attrs = append(attrs, `\NonExistent`)
			} else {
				attrs = append(attrs, `\Noselect`)
			}
		}
		if n.children {
			attrs = append(attrs, `\HasChildren`)
		} else {
			attrs = append(attrs, `\HasNoChildren`)
		}
		if returnSubscribed && n.subscribed {
			attrs = append(attrs, `\Subscribed`)
		}
		if n.mbox != nil {
			attrs = append(attrs, n.mbox.SpecialUse...)
		}
		c.w.Raw("* LIST (")
		c.w.Raw(strings.Join(attrs, " "))
		c.w.Raw(`) "/" `)
		c.w.Mailbox(n.name, c.rev2)
		if childInfo {
			c.w.Raw(` ("CHILDINFO" ("SUBSCRIBED"))`)
		}
		c.w.CRLF()
		if meta != nil && n.mbox != nil {
			if err := c.writeListMetadata(ctx, meta, n.mbox); err != nil {
				return err
			}
		}
		if len(args.ReturnStatus) > 0 && n.mbox != nil {
			st, err := c.statusValues(ctx, n.mbox.ID, args.ReturnStatus)
			if err != nil {
				// RFC 5819: a STATUS that cannot be had is left out.
				continue
			}
			c.writeStatus(n.name, args.ReturnStatus, st)
		}
	}
	return nil
}

// cmdLsub runs the IMAP4rev1 LSUB (RFC 3501 section 6.3.9).
func (c *session) cmdLsub(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.LsubArgs)
	if args.Pattern == "" {
		c.w.Raw(`* LSUB (\Noselect) "/" ""`)
		c.w.CRLF()
		return nil
	}
	ref, err1 := c.mailboxPattern(args.Reference)
	pat, err2 := c.mailboxPattern(args.Pattern)
	if err1 != nil || err2 != nil {
		return nil
	}
	pattern := canonicalPattern(ref, pat)
	nodes, err := c.hierarchy(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if !match(pattern, n.name) {
			continue
		}
		var attrs string
		switch {
		case n.subscribed:
			if n.mbox == nil {
				attrs = `\Noselect`
			}
		case n.subscribedBelow && strings.HasSuffix(pattern, "%"):
			// A level of hierarchy above a subscribed name.
			attrs = `\Noselect`
		default:
			continue
		}
		c.w.Raw("* LSUB (")
		c.w.Raw(attrs)
		c.w.Raw(`) "/" `)
		c.w.Mailbox(n.name, c.rev2)
		c.w.CRLF()
	}
	return nil
}

// mailboxPattern decodes a reference or pattern like a mailbox name.
func (c *session) mailboxPattern(raw string) (string, error) {
	return wire.DecodeMailbox(raw, c.rev2)
}

// canonicalPattern joins reference and pattern. We have no break-out
// characters, so the canonical form is the reference followed by the
// pattern (RFC 9051 section 6.3.9). A pattern for INBOX in any case
// matches INBOX.
func canonicalPattern(ref, pat string) string {
	p := ref + pat
	if len(p) >= 5 && strings.EqualFold(p[:5], "INBOX") && (len(p) == 5 || p[5] == '/' || p[5] == '*' || p[5] == '%') {
		p = "INBOX" + p[5:]
	}
	return p
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if match(p, name) {
			return true
		}
	}
	return false
}

// match reports whether name matches a LIST pattern: "*" matches any
// characters, "%" any but the hierarchy delimiter. It runs in
// O(len(pattern) * len(name)), so hostile patterns cannot blow up.
func match(pattern, name string) bool {
	// prev[j] reports whether pattern[:i] matches name[:j].
	prev := make([]bool, len(name)+1)
	cur := make([]bool, len(name)+1)
	prev[0] = true
	for i := 0; i < len(pattern); i++ {
		pc := pattern[i]
		switch pc {
		case '*':
			cur[0] = prev[0]
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j] || cur[j-1]
			}
		case '%':
			cur[0] = prev[0]
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j] || (cur[j-1] && name[j-1] != '/')
			}
		default:
			cur[0] = false
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j-1] && name[j-1] == pc
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(name)]
}
