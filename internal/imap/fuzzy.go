package imap

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// SEARCH=FUZZY (RFC 6203). Under FUZZY the text keys (BODY, TEXT,
// SUBJECT, FROM, TO, CC, BCC, HEADER) match approximately, as package
// match defines; every other key keeps its exact meaning (section 5 leaves
// that to the server: flags, dates and UIDs match exactly). Scores come
// from the store (store.RelevancySearcher); a store without them scores
// every match 100.

// fuzzyKey translates k, which stands under FUZZY.
func (c *session) fuzzyKey(crit *store.SearchCriteria, k *wire.SearchKey) error {
	add := func(in store.FuzzyField, field string) error {
		if err := validText(k.String); err != nil {
			return err
		}
		crit.Fuzzy = append(crit.Fuzzy, store.FuzzyMatch{In: in, Field: field, Value: k.String})
		return nil
	}
	switch k.Name {
	case "BCC", "CC", "FROM", "SUBJECT", "TO":
		return add(store.FuzzyHeader, k.Name)
	case "HEADER":
		return add(store.FuzzyHeader, k.Field)
	case "BODY":
		return add(store.FuzzyBody, "")
	case "TEXT":
		return add(store.FuzzyText, "")
	case "AND", "FUZZY":
		for i := range k.Children {
			if err := c.fuzzyKey(crit, &k.Children[i]); err != nil {
				return err
			}
		}
		return nil
	case "NOT":
		var sub store.SearchCriteria
		if err := c.fuzzyKey(&sub, &k.Children[0]); err != nil {
			return err
		}
		crit.Not = append(crit.Not, sub)
		return nil
	case "OR":
		var a, b store.SearchCriteria
		if err := c.fuzzyKey(&a, &k.Children[0]); err != nil {
			return err
		}
		if err := c.fuzzyKey(&b, &k.Children[1]); err != nil {
			return err
		}
		crit.Or = append(crit.Or, [2]store.SearchCriteria{a, b})
		return nil
	}
	return c.searchKey(crit, k)
}

// usesFuzzy reports whether keys hold a FUZZY key: RELEVANCY needs one
// (RFC 6203 sections 4 and 6).
func usesFuzzy(keys []wire.SearchKey) bool {
	for i := range keys {
		if keys[i].Name == "FUZZY" || usesFuzzy(keys[i].Children) {
			return true
		}
	}
	return false
}

// errRelevancyWithoutFuzzy refuses RELEVANCY without FUZZY.
func errRelevancyWithoutFuzzy() error {
	return errBad("", "RELEVANCY needs a FUZZY search key")
}

// searchScored runs a search and scores its matches, 1 to 100.
func (c *session) searchScored(ctx context.Context, crit *store.SearchCriteria) ([]store.UID, []uint8, error) {
	if rs, ok := c.mail.(store.RelevancySearcher); ok {
		uids, rel, err := rs.SearchRelevancy(ctx, c.sel.mbox.ID, crit)
		if err != nil {
			return nil, nil, err
		}
		if len(rel) != len(uids) {
			rel = make([]uint8, len(uids)) // defensive: never index past
		}
		return uids, rel, nil
	}
	uids, err := c.mail.Search(ctx, c.sel.mbox.ID, crit)
	rel := make([]uint8, len(uids))
	for i := range rel {
		rel[i] = 100
	}
	return uids, rel, err
}

// searchKnown runs a search in the selected mailbox and returns the
// matches the session knows of (only those may be reported), ascending,
// and with relevancy set their scores, parallel to them.
func (c *session) searchKnown(ctx context.Context, crit *store.SearchCriteria, relevancy bool) ([]store.UID, []uint8, error) {
	var found []store.UID
	var scores []uint8
	var err error
	if relevancy {
		found, scores, err = c.searchScored(ctx, crit)
	} else {
		found, err = c.mail.Search(ctx, c.sel.mbox.ID, crit)
	}
	if err != nil {
		return nil, nil, err
	}
	uids := found[:0:0]
	var rel []uint8
	for i, u := range found {
		if c.sel.index(u) >= 0 {
			uids = append(uids, u)
			if relevancy {
				rel = append(rel, scores[i])
			}
		}
	}
	return uids, rel, nil
}

// writeRelevancy writes " RELEVANCY (scores)" (RFC 6203 section 7).
func (c *session) writeRelevancy(scores []uint8) {
	var b strings.Builder
	b.WriteString(" RELEVANCY (")
	for i, s := range scores {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(int(max(s, 1))))
	}
	b.WriteByte(')')
	c.w.Raw(b.String())
}

// relevancySort orders the matching messages for a SORT whose keys
// include RELEVANCY (RFC 6203 section 6): highest score first, REVERSE
// lowest first. The store sorts by the other keys; the keys before the
// first RELEVANCY group the messages (found as the messages whose order
// does not change when those keys are reversed), and within a group
// relevancy, then the keys after it, decide. Later RELEVANCY keys change
// nothing and are dropped.
func (c *session) relevancySort(ctx context.Context, keys []wire.SortCriterion, scores map[store.UID]uint8) ([]store.UID, error) {
	at := slices.IndexFunc(keys, func(k wire.SortCriterion) bool { return k.Key == "RELEVANCY" })
	reverse := keys[at].Reverse
	storeKeys := func(ks []wire.SortCriterion, flip bool) []store.SortKey {
		var out []store.SortKey
		for _, k := range ks {
			if k.Key != "RELEVANCY" {
				out = append(out, store.SortKey{Field: sortFields[k.Key], Reverse: k.Reverse != flip})
			}
		}
		return out
	}
	before := keys[:at]
	// The order by all other keys (UID order when there are none).
	var all []store.UID
	if others := storeKeys(keys, false); len(others) > 0 {
		var err error
		if all, err = c.mail.Sort(ctx, c.sel.mbox.ID, others); err != nil {
			return nil, err
		}
	} else {
		all = slices.Clone(c.sel.uids)
	}
	pos := make(map[store.UID]int, len(all))
	for i, u := range all {
		pos[u] = i
	}
	group := map[store.UID]int{}
	if len(before) > 0 {
		fwd, err := c.mail.Sort(ctx, c.sel.mbox.ID, storeKeys(before, false))
		if err != nil {
			return nil, err
		}
		rev, err := c.mail.Sort(ctx, c.sel.mbox.ID, storeKeys(before, true))
		if err != nil {
			return nil, err
		}
		revPos := make(map[store.UID]int, len(rev))
		for i, u := range rev {
			revPos[u] = i
		}
		// Equal keys keep UID order in both sorts; unequal ones swap.
		g := 0
		for i, u := range fwd {
			if i > 0 && !(u > fwd[i-1] && revPos[u] > revPos[fwd[i-1]]) {
				g++
			}
			group[u] = g
		}
	}
	out := make([]store.UID, 0, len(scores))
	for u := range scores {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b store.UID) int {
		if d := cmp.Compare(group[a], group[b]); d != 0 {
			return d
		}
		sa, sb := scores[a], scores[b]
		if d := cmp.Compare(sb, sa); d != 0 {
			if reverse {
				return -d
			}
			return d
		}
		return cmp.Compare(pos[a], pos[b])
	})
	return out, nil
}

// withRelevancy reports whether a SORT asks for relevancy, as a sort key
// or a return option.
func withRelevancy(a *wire.SortArgs) bool {
	return slices.Contains(a.Return, "RELEVANCY") || slices.ContainsFunc(a.Keys, func(k wire.SortCriterion) bool { return k.Key == "RELEVANCY" })
}

// sortRelevancy runs the search of a SORT that asks for relevancy and
// returns the matching messages the session knows, in sort order, with
// their scores.
func (c *session) sortRelevancy(ctx context.Context, a *wire.SortArgs) ([]store.UID, map[store.UID]uint8, error) {
	if !usesFuzzy(a.Criteria) {
		return nil, nil, errRelevancyWithoutFuzzy()
	}
	switch a.Charset {
	case "UTF-8", "US-ASCII":
	default:
		return nil, nil, errNo("BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset")
	}
	var crit store.SearchCriteria
	c.searchModSeq = false
	c.searchCtx = ctx
	if err := c.searchKeys(&crit, a.Criteria); err != nil {
		return nil, nil, err
	}
	uids, rel, err := c.searchKnown(ctx, &crit, true)
	if err != nil {
		return nil, nil, err
	}
	scores := make(map[store.UID]uint8, len(uids))
	for i, u := range uids {
		scores[u] = rel[i]
	}
	if slices.ContainsFunc(a.Keys, func(k wire.SortCriterion) bool { return k.Key == "RELEVANCY" }) {
		sorted, err := c.relevancySort(ctx, a.Keys, scores)
		return sorted, scores, err
	}
	keys := make([]store.SortKey, len(a.Keys))
	for i, k := range a.Keys {
		keys[i] = store.SortKey{Field: sortFields[k.Key], Reverse: k.Reverse}
	}
	all, err := c.mail.Sort(ctx, c.sel.mbox.ID, keys)
	if err != nil {
		return nil, nil, err
	}
	sorted := make([]store.UID, 0, len(scores))
	for _, u := range all {
		if _, ok := scores[u]; ok {
			sorted = append(sorted, u)
		}
	}
	return sorted, scores, nil
}
