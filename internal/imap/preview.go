package imap

import (
	"context"
	"fmt"

	"postfach/internal/store"
)

// PREVIEW (RFC 8970): the store computes previews at delivery
// (store.Previewer); FETCH reads them a chunk at a time.

// previews returns the previews of the messages of set, by UID. With a
// store that keeps none, every preview is "": section 3.2 allows a server
// to have no meaningful preview.
func (c *session) previews(ctx context.Context, set store.UIDSet, lazy bool) (map[store.UID]store.Preview, error) {
	pv, ok := c.mail.(store.Previewer)
	if !ok {
		return nil, nil
	}
	list, err := pv.Previews(ctx, c.sel.mbox.ID, set, lazy)
	if err != nil {
		return nil, err
	}
	out := make(map[store.UID]store.Preview, len(list))
	for _, p := range list {
		out[p.UID] = p
	}
	return out, nil
}

// previewOf returns m's preview from the plan's chunk, or reads it when
// the plan has none for it (a FETCH sent by NOTIFY, say).
func (c *session) previewOf(ctx context.Context, plan *fetchPlan, m *store.Message) (store.Preview, error) {
	if p, ok := plan.previews[m.UID]; ok {
		return p, nil
	}
	if _, ok := c.mail.(store.Previewer); !ok {
		return store.Preview{UID: m.UID, Ready: true}, nil
	}
	got, err := c.previews(ctx, store.UIDSetOf(m.UID), plan.previewLazy)
	if err != nil {
		return store.Preview{}, fmt.Errorf("preview of UID %d: %w", m.UID, err)
	}
	if p, ok := got[m.UID]; ok {
		return p, nil
	}
	// Expunged meanwhile: nothing to show, and LAZY may say so.
	return store.Preview{UID: m.UID, Ready: !plan.previewLazy}, nil
}
