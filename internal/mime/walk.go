package mime

import "errors"

// SkipChildren, returned by a Walk callback, skips the parts below the
// current one (a multipart's children, an encapsulated message) without
// stopping the walk.
var SkipChildren = errors.New("mime: skip children")

// Walk calls fn for p and every part below it, depth first, in IMAP part
// order; encapsulated messages are entered (the message/rfc822 part first,
// then the encapsulated message's root, then its parts). An error from fn
// other than SkipChildren stops the walk and is returned.
func Walk(p *Part, fn func(*Part) error) error {
	if err := fn(p); err != nil {
		if err == SkipChildren {
			return nil
		}
		return err
	}
	for _, c := range p.Parts {
		if err := Walk(c, fn); err != nil {
			return err
		}
	}
	if p.Message != nil {
		return Walk(p.Message, fn)
	}
	return nil
}

// Section returns the part that an IMAP section part number (RFC 9051
// section 6.4.5, "1.2.3" as []int{1, 2, 3}) refers to in the message whose
// root is root, or nil if there is no such part. An empty path is the root.
//
// The numbering: the parts of a multipart are numbered from 1; a message
// (the root, or one encapsulated in a message/rfc822 part) that is not
// multipart has a single part 1, its body, which Section returns as the
// message's root part itself; the numbers after a message/rfc822 part
// number the parts of the message it encapsulates, as if it were that
// message's root.
func Section(root *Part, path []int) *Part {
	cur := root
	msgRoot := true // cur is a message's root (numbers below it are its parts)
	for _, n := range path {
		if n < 1 {
			return nil
		}
		if !msgRoot && cur.Message != nil {
			cur = cur.Message
			msgRoot = true
		}
		switch {
		case cur.Type == "multipart":
			if n > len(cur.Parts) {
				return nil
			}
			cur = cur.Parts[n-1]
			msgRoot = false
		case msgRoot && n == 1:
			// The single body part of a non-multipart message: the same
			// part. Leave msgRoot so "1.1" is not accepted as well.
			msgRoot = false
		default:
			return nil
		}
	}
	return cur
}
