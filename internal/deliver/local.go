package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ErrNotLocal: the address is not in a local domain, or nothing local
// takes it (an alias whose targets are all elsewhere).
var ErrNotLocal = errors.New("deliver: address is not local")

// DeliverTo delivers msg to every local account that address stands for
// (aliases, subaddress, catch-all resolved; remote alias targets not
// followed), in INBOX, with returnPath as the Return-Path ("" for a
// delivery status notification). It is how the outbound queue hands over
// what it holds for local addresses, DSNs to local senders first of all.
// It returns ErrNotLocal for an address elsewhere, an *Error otherwise.
func (d *Deliverer) DeliverTo(ctx context.Context, res *Resolver, address, returnPath string, msg io.ReaderAt, size int64) error {
	addr, err := ParseAddress(address, true)
	if err != nil {
		return &Error{Code: 550, Enhanced: "5.1.3", Text: "Invalid recipient address", Err: err}
	}
	route, err := res.Resolve(ctx, addr)
	switch {
	case errors.Is(err, ErrUnknownRecipient):
		return &Error{Code: 550, Enhanced: "5.1.1", Text: "No such user here", Err: err}
	case err != nil:
		return classify(err)
	case !route.Local || len(route.Accounts) == 0:
		return fmt.Errorf("%w: %s", ErrNotLocal, address)
	}
	rcpts := make([]Recipient, len(route.Accounts))
	for i, a := range route.Accounts {
		rcpts[i] = Recipient{Account: a.ID}
	}
	for _, r := range d.Deliver(ctx, Message{ReturnPath: returnPath, Body: msg, Size: size}, rcpts) {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}
