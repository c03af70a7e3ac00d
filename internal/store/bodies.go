package store

import "context"

// BodiesOpener is implemented by stores that look up the bodies of many
// messages at once for less than a Mail.OpenBody each: one query for a
// FETCH of a range of messages instead of one per message.
type BodiesOpener interface {
	// OpenBodies looks up the bodies of msgs (as Mail.Messages returned
	// them) at once, with the checks of Mail.OpenBody, and returns a
	// function that opens the body of any of msgs. It opens what OpenBody
	// would have opened at the time of the lookup: ErrNotFound for a
	// message that was not the account's then, or whose body has gone
	// since. The function is for the caller's goroutine; every body it
	// opens must be closed.
	OpenBodies(ctx context.Context, msgs []Message) (open func(m *Message) (Body, error), err error)
}
