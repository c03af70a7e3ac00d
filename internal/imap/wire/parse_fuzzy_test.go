package wire

import (
	"reflect"
	"strings"
	"testing"
)

// RFC 6203 (SEARCH=FUZZY): the FUZZY key, the RELEVANCY return option of
// SEARCH and SORT, and the RELEVANCY sort key.
func TestReadCommandFuzzy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Command
	}{
		// The RFC's examples.
		{`SEARCH FUZZY (SUBJECT "IMAP break")`, Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{
			{Name: "FUZZY", Children: []SearchKey{{Name: "AND", Children: []SearchKey{{Name: "SUBJECT", String: "IMAP break"}}}}}}}}},
		{`SEARCH FUZZY SUBJECT work FROM user@example.com`, Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{
			{Name: "FUZZY", Children: []SearchKey{{Name: "SUBJECT", String: "work"}}}, {Name: "FROM", String: "user@example.com"}}}}},
		{`SEARCH RETURN (RELEVANCY ALL) FUZZY TEXT "Helo"`, Command{Name: "SEARCH", Args: &SearchArgs{Return: []string{"RELEVANCY", "ALL"}, HasReturn: true,
			Criteria: []SearchKey{{Name: "FUZZY", Children: []SearchKey{{Name: "TEXT", String: "Helo"}}}}}}},
		{`SORT (RELEVANCY) UTF-8 FUZZY SUBJECT "Helo"`, Command{Name: "SORT", Args: &SortArgs{Keys: []SortCriterion{{"RELEVANCY", false}}, Charset: "UTF-8",
			Criteria: []SearchKey{{Name: "FUZZY", Children: []SearchKey{{Name: "SUBJECT", String: "Helo"}}}}}}},
		{`SORT RETURN (RELEVANCY ALL) (RELEVANCY) UTF-8 FUZZY TEXT "Helo"`, Command{Name: "SORT", Args: &SortArgs{Return: []string{"RELEVANCY", "ALL"}, HasReturn: true,
			Keys: []SortCriterion{{"RELEVANCY", false}}, Charset: "UTF-8", Criteria: []SearchKey{{Name: "FUZZY", Children: []SearchKey{{Name: "TEXT", String: "Helo"}}}}}}},
		// Nested, lower case, with other keys.
		{`UID SEARCH return (relevancy) fuzzy fuzzy body x NOT FUZZY OR SEEN TO y`, Command{Name: "SEARCH", UID: true, Args: &SearchArgs{Return: []string{"RELEVANCY"}, HasReturn: true,
			Criteria: []SearchKey{
				{Name: "FUZZY", Children: []SearchKey{{Name: "FUZZY", Children: []SearchKey{{Name: "BODY", String: "x"}}}}},
				{Name: "NOT", Children: []SearchKey{{Name: "FUZZY", Children: []SearchKey{{Name: "OR", Children: []SearchKey{{Name: "SEEN"}, {Name: "TO", String: "y"}}}}}}},
			}}}},
		{`SORT (REVERSE RELEVANCY DATE) UTF-8 FUZZY BODY x`, Command{Name: "SORT", Args: &SortArgs{Keys: []SortCriterion{{"RELEVANCY", true}, {"DATE", false}}, Charset: "UTF-8",
			Criteria: []SearchKey{{Name: "FUZZY", Children: []SearchKey{{Name: "BODY", String: "x"}}}}}}},
	} {
		r, _ := newTestReader("t "+tc.in+"\r\n", Options{})
		cmd, err := r.ReadCommand()
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		tc.want.Tag = "t"
		if !reflect.DeepEqual(*cmd, tc.want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, dump(cmd), dump(&tc.want))
		}
	}
	for _, in := range []string{
		"SEARCH FUZZY",
		"SEARCH FUZZY ()",
		"SEARCH FUZZY  TEXT x",
		"SEARCH RETURN (RELEVANCE) FUZZY TEXT x",
		"SORT (RELEVANCY REVERSE) UTF-8 ALL",
		"SEARCH " + strings.Repeat("FUZZY ", maxSearchDepth+2) + "ALL",
	} {
		r, _ := newTestReader("t "+in+"\r\n", Options{})
		if cmd, err := r.ReadCommand(); err == nil {
			t.Errorf("%s: accepted as %s", in, dump(cmd))
		}
	}
}
