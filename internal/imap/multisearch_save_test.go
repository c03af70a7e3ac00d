package imap

import (
	"slices"
	"testing"

	"postfach/internal/store"
)

func TestSavedResult(t *testing.T) {
	uids := []store.UID{2, 4, 6, 8, 10}
	for _, tc := range []struct {
		name    string
		opts    []string
		uids    []store.UID
		page    []store.UID
		partial bool
		want    []store.UID
	}{
		{"SAVE alone", []string{"SAVE"}, uids, nil, false, uids},
		{"ALL", []string{"SAVE", "ALL"}, uids, nil, false, uids},
		// RFC 5182 section 2.4: MIN and MAX alone narrow "$" to themselves.
		{"MIN", []string{"SAVE", "MIN"}, uids, nil, false, []store.UID{2}},
		{"MIN MAX", []string{"MAX", "SAVE", "MIN"}, uids, nil, false, []store.UID{2, 10}},
		{"MIN COUNT", []string{"SAVE", "MIN", "COUNT"}, uids, nil, false, uids},
		{"MAX ALL", []string{"SAVE", "MAX", "ALL"}, uids, nil, false, uids},
		// RFC 9394 section 3.2: the page, with MIN and MAX.
		{"PARTIAL", []string{"SAVE", "PARTIAL"}, uids, []store.UID{4, 6}, true, []store.UID{4, 6}},
		{"PARTIAL MIN MAX", []string{"SAVE", "PARTIAL", "MIN", "MAX"}, uids, []store.UID{4, 6}, true, []store.UID{2, 4, 6, 10}},
		{"PARTIAL MIN on the page", []string{"SAVE", "PARTIAL", "MIN"}, uids, []store.UID{2, 4}, true, []store.UID{2, 4}},
		{"PARTIAL COUNT", []string{"SAVE", "PARTIAL", "COUNT"}, uids, []store.UID{4, 6}, true, uids},
		{"PARTIAL past the end", []string{"SAVE", "PARTIAL"}, uids, nil, true, []store.UID{}},
		// RFC 6203 section 4: RELEVANCY does not narrow it.
		{"RELEVANCY", []string{"SAVE", "RELEVANCY"}, uids, nil, false, uids},
		{"MIN RELEVANCY", []string{"SAVE", "RELEVANCY", "MIN"}, uids, nil, false, []store.UID{2}},
		{"no match", []string{"SAVE", "MIN"}, nil, nil, false, []store.UID{}},
		{"no match, SAVE alone", []string{"SAVE"}, []store.UID{}, nil, false, []store.UID{}},
	} {
		got := savedResult(tc.opts, tc.uids, tc.page, tc.partial)
		if !slices.Equal(got, tc.want) || got == nil {
			t.Errorf("%s: savedResult(%q) = %v, want %v", tc.name, tc.opts, got, tc.want)
		}
	}
	// "$" is a set of its own: never nil (as when a search fails, RFC
	// 5182 section 2.1) and not sharing the matches' array.
	got := savedResult([]string{"SAVE"}, uids, nil, false)
	got[0] = 99
	if uids[0] != 2 {
		t.Error("savedResult shares the matches' array")
	}
}
