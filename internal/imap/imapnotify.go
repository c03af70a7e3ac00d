package imap

import (
	"context"
	"errors"
	"slices"
	"strings"

	"postfach/internal/imap/wire"
	"postfach/internal/notify"
	"postfach/internal/store"
)

// NOTIFY (RFC 5465): a client names the mailboxes it watches and the
// events it wants, and learns of changes in mailboxes it has not
// selected as STATUS and LIST responses. They are sent whenever the
// session reports changes: during IDLE at once, otherwise with the next
// command's responses (section 3 allows both).
//
// The selected mailbox keeps reporting its changes as without NOTIFY
// (EXISTS, EXPUNGE/VANISHED, FETCH): a client needs them to keep its
// message numbers right. A SELECTED group's MessageNew fetch attributes
// add a FETCH of new messages after EXISTS (section 5.2).

// supportedEvents are the events this server reports (section 3:
// BADEVENT lists them).
var supportedEvents = []string{"MessageNew", "MessageExpunge", "FlagChange", "MailboxName", "SubscriptionChange"}

type notifySpec struct {
	groups []notifyGroup // other than SELECTED, in the client's order
	// newFetch is the SELECTED group's MessageNew fetch plan, if any.
	newFetch *fetchPlan
	// known is the mailbox list as last reported, for MailboxName and
	// SubscriptionChange; nil when neither is asked for.
	known map[store.MailboxID]knownMailbox
}

type notifyGroup struct {
	filter string
	names  []string // decoded SUBTREE or MAILBOXES names
	events map[string]bool
}

type knownMailbox struct {
	name       string
	subscribed bool
}

func (g *notifyGroup) messageEvents() bool {
	return g.events["MessageNew"] || g.events["MessageExpunge"] || g.events["FlagChange"]
}

// matches reports whether the group's filter covers mailbox mb.
func (g *notifyGroup) matches(mb *store.Mailbox) bool {
	switch g.filter {
	case "PERSONAL":
		return true
	case "INBOXES":
		// Mailboxes mail is delivered to: only INBOX here.
		return mb.Name == "INBOX"
	case "SUBSCRIBED":
		return mb.Subscribed
	case "MAILBOXES":
		return slices.Contains(g.names, mb.Name)
	case "SUBTREE":
		for _, n := range g.names {
			if mb.Name == n || strings.HasPrefix(mb.Name, n+"/") {
				return true
			}
		}
	}
	return false
}

// group returns the first group covering mb (section 3: the first
// matching filter applies), or nil.
func (n *notifySpec) group(mb *store.Mailbox) *notifyGroup {
	for i := range n.groups {
		if n.groups[i].matches(mb) {
			return &n.groups[i]
		}
	}
	return nil
}

func (c *session) cmdNotify(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.NotifyArgs)
	if args.None {
		c.notify = nil
		return nil
	}
	spec := &notifySpec{}
	sawSelected := false
	watchNames := false
	for _, wg := range args.Groups {
		events := map[string]bool{}
		for _, e := range wg.Events {
			if !slices.Contains(supportedEvents, e) {
				return errNo("BADEVENT ("+strings.Join(supportedEvents, " ")+")", "Event "+e+" is not supported")
			}
			events[e] = true
		}
		// Section 8: MessageNew and MessageExpunge go together, and
		// FlagChange needs both.
		if events["MessageNew"] != events["MessageExpunge"] || events["FlagChange"] && !events["MessageNew"] {
			return errBad("", "MessageNew and MessageExpunge must be given together, and FlagChange needs both")
		}
		selected := wg.Filter == "SELECTED" || wg.Filter == "SELECTED-DELAYED"
		if len(wg.FetchAtts) > 0 && !selected {
			return errBad("", "MessageNew fetch attributes are only allowed for SELECTED")
		}
		if selected {
			if sawSelected {
				return errBad("", "Only one SELECTED or SELECTED-DELAYED group is allowed")
			}
			sawSelected = true
			if events["MailboxName"] || events["SubscriptionChange"] {
				return errBad("", "Only message events are allowed for SELECTED")
			}
			if len(wg.FetchAtts) > 0 {
				plan, err := planFetch(wg.FetchAtts, true)
				if err != nil {
					return err
				}
				if plan.setSeen {
					return errBad("", "MessageNew fetch attributes must not set \\Seen")
				}
				spec.newFetch = &plan
			}
			continue
		}
		g := notifyGroup{filter: wg.Filter, events: events}
		for _, raw := range wg.Mailboxes {
			name, err := c.mailboxName(raw)
			if err != nil {
				return err
			}
			g.names = append(g.names, name)
		}
		if events["MailboxName"] || events["SubscriptionChange"] {
			watchNames = true
		}
		spec.groups = append(spec.groups, g)
	}
	mailboxes, err := c.mail.Mailboxes(ctx)
	if err != nil {
		return err
	}
	if watchNames {
		spec.known = make(map[store.MailboxID]knownMailbox, len(mailboxes))
		for _, mb := range mailboxes {
			spec.known[mb.ID] = knownMailbox{mb.Name, mb.Subscribed}
		}
	}
	c.notify = spec
	if args.Status {
		// Section 3: STATUS for every watched mailbox other than the
		// selected one, before the tagged OK.
		for i := range mailboxes {
			mb := &mailboxes[i]
			if c.sel != nil && c.sel.mbox.ID == mb.ID {
				continue
			}
			if g := spec.group(mb); g != nil && g.messageEvents() {
				if err := c.notifyStatus(ctx, mb); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// notifyStatus sends the STATUS that reports a change in a mailbox that
// is not selected (sections 5.2 to 5.4).
func (c *session) notifyStatus(ctx context.Context, mb *store.Mailbox) error {
	items := []string{"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"}
	if c.condstore {
		items = append(items, "HIGHESTMODSEQ")
	}
	st, err := c.statusValues(ctx, mb.ID, items)
	if errors.Is(err, store.ErrNotFound) {
		return nil // gone meanwhile: MailboxName reports that
	}
	if err != nil {
		return err
	}
	c.writeStatus(mb.Name, items, st)
	return nil
}

// notifyOthers reports the pending changes of mailboxes other than the
// selected one, as the NOTIFY settings ask.
func (c *session) notifyOthers(ctx context.Context, p notify.Pending) error {
	n := c.notify
	if n == nil {
		return nil
	}
	for _, id := range p.Mailboxes {
		if c.sel != nil && c.sel.mbox.ID == store.MailboxID(id) {
			continue
		}
		mb, err := c.mail.MailboxByID(ctx, store.MailboxID(id))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if g := n.group(&mb); g != nil && g.messageEvents() {
			if err := c.notifyStatus(ctx, &mb); err != nil {
				return err
			}
		}
	}
	if p.MailboxesChanged && n.known != nil {
		return c.notifyMailboxes(ctx)
	}
	return nil
}

// notifyMailboxes compares the mailbox list with the one last reported
// and sends LIST responses for what was created, deleted, renamed
// (section 5.4, with OLDNAME of RFC 5465 section 5.4 / RFC 9051) and
// subscribed or unsubscribed (section 5.5).
func (c *session) notifyMailboxes(ctx context.Context) error {
	n := c.notify
	mailboxes, err := c.mail.Mailboxes(ctx)
	if err != nil {
		return err
	}
	now := make(map[store.MailboxID]knownMailbox, len(mailboxes))
	for i := range mailboxes {
		mb := &mailboxes[i]
		now[mb.ID] = knownMailbox{mb.Name, mb.Subscribed}
		g := n.group(mb)
		old, existed := n.known[mb.ID]
		switch {
		case g == nil:
		case !existed && g.events["MailboxName"]:
			c.writeNotifyList(mb.Name, mb.Subscribed && g.events["SubscriptionChange"], "", false)
		case existed && old.name != mb.Name && g.events["MailboxName"]:
			c.writeNotifyList(mb.Name, mb.Subscribed && g.events["SubscriptionChange"], old.name, false)
		case existed && old.subscribed != mb.Subscribed && g.events["SubscriptionChange"]:
			c.writeNotifyList(mb.Name, mb.Subscribed, "", false)
		}
	}
	for id, old := range n.known {
		if _, ok := now[id]; ok {
			continue
		}
		if g := n.group(&store.Mailbox{Name: old.name, Subscribed: old.subscribed}); g != nil && g.events["MailboxName"] {
			c.writeNotifyList(old.name, false, "", true)
		}
	}
	n.known = now
	return nil
}

func (c *session) writeNotifyList(name string, subscribed bool, oldName string, gone bool) {
	c.w.Raw("* LIST (")
	switch {
	case gone:
		c.w.Raw(`\NonExistent`)
	case subscribed:
		c.w.Raw(`\Subscribed`)
	}
	c.w.Raw(`) "/" `)
	c.w.Mailbox(name, c.rev2)
	if oldName != "" {
		c.w.Raw(` ("OLDNAME" (`)
		c.w.Mailbox(oldName, c.rev2)
		c.w.Raw("))")
	}
	c.w.CRLF()
}

// notifyNewMessages sends the FETCH a SELECTED MessageNew asks for, for
// messages just announced with EXISTS.
func (c *session) notifyNewMessages(ctx context.Context, fresh []store.UID) error {
	if c.notify == nil || c.notify.newFetch == nil || len(fresh) == 0 {
		return nil
	}
	s := c.sel
	plan := *c.notify.newFetch
	for len(fresh) > 0 {
		k := min(len(fresh), chunkSize)
		msgs, err := c.mail.Messages(ctx, s.mbox.ID, uidSetOf(fresh[:k]), store.FetchOptions{Structure: plan.structure})
		if err != nil {
			return err
		}
		for i := range msgs {
			if idx := s.index(msgs[i].UID); idx >= 0 {
				if err := c.fetchOne(ctx, idx+1, &msgs[i], plan, false); err != nil {
					var re *respError
					if !errors.As(err, &re) {
						return err
					}
				}
			}
		}
		fresh = fresh[k:]
	}
	return nil
}
