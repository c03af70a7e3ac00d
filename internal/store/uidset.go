package store

import "sort"

// UIDRange is an inclusive range of UIDs, Start <= Stop.
type UIDRange struct {
	Start, Stop UID
}

// UIDSet is a set of UIDs as ranges. The ranges may overlap and come in any
// order; Normalize sorts and merges them.
type UIDSet []UIDRange

// UIDSetOf builds a set from single UIDs.
func UIDSetOf(uids ...UID) UIDSet {
	s := make(UIDSet, 0, len(uids))
	for _, u := range uids {
		s = append(s, UIDRange{u, u})
	}
	return s.Normalize()
}

// AllUIDs is the set of every possible UID.
func AllUIDs() UIDSet { return UIDSet{{1, ^UID(0)}} }

// Contains reports whether uid is in the set.
func (s UIDSet) Contains(uid UID) bool {
	for _, r := range s {
		if uid >= r.Start && uid <= r.Stop {
			return true
		}
	}
	return false
}

// Normalize returns the set with ranges sorted, merged and non-overlapping.
// Ranges given as Start > Stop are swapped, as IMAP sequence sets allow.
func (s UIDSet) Normalize() UIDSet {
	if len(s) == 0 {
		return s
	}
	out := make(UIDSet, len(s))
	for i, r := range s {
		if r.Start > r.Stop {
			r.Start, r.Stop = r.Stop, r.Start
		}
		out[i] = r
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	n := 0
	for _, r := range out[1:] {
		last := &out[n]
		if r.Start <= last.Stop || (last.Stop != ^UID(0) && r.Start == last.Stop+1) {
			if r.Stop > last.Stop {
				last.Stop = r.Stop
			}
			continue
		}
		n++
		out[n] = r
	}
	return out[:n+1]
}

// Filter returns the UIDs of uids (ascending) that are in the set.
func (s UIDSet) Filter(uids []UID) []UID {
	var out []UID
	for _, u := range uids {
		if s.Contains(u) {
			out = append(out, u)
		}
	}
	return out
}
