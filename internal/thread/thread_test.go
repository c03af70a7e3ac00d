package thread

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func day(n int) time.Time { return time.Date(2026, 1, n, 0, 0, 0, 0, time.UTC) }

func format(roots []*Node) string {
	var b strings.Builder
	Format(&b, roots)
	return b.String()
}

func TestOrderedSubject(t *testing.T) {
	msgs := []Message{
		{Num: 1, BaseSubject: "A", Date: day(3)},
		{Num: 2, BaseSubject: "B", Date: day(1)},
		{Num: 3, BaseSubject: "A", Date: day(2)},
		{Num: 4, BaseSubject: "A", Date: day(5)},
		{Num: 5, BaseSubject: "C", Date: day(4)},
		{Num: 6, BaseSubject: "B", Date: day(6)},
	}
	if got, want := format(OrderedSubject(msgs)), "(2 6)(3 (1)(4))(5)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestReferences(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []Message
		want string
	}{
		{"chain", []Message{
			{Num: 1, MessageID: "a", BaseSubject: "X", Date: day(1)},
			{Num: 2, MessageID: "b", References: []string{"a"}, BaseSubject: "X", Reply: true, Date: day(2)},
			{Num: 3, MessageID: "c", References: []string{"a", "b"}, BaseSubject: "X", Reply: true, Date: day(3)},
		}, "(1 2 3)"},
		{"siblings", []Message{
			{Num: 1, MessageID: "a", BaseSubject: "X", Date: day(1)},
			{Num: 2, MessageID: "b", References: []string{"a"}, BaseSubject: "X", Reply: true, Date: day(3)},
			{Num: 3, MessageID: "c", References: []string{"a"}, BaseSubject: "X", Reply: true, Date: day(2)},
		}, "(1 (3)(2))"},
		{"missing parent: a placeholder for two children stays at the root", []Message{
			{Num: 1, MessageID: "b", References: []string{"a"}, BaseSubject: "X", Reply: true, Date: day(1)},
			{Num: 2, MessageID: "c", References: []string{"a"}, BaseSubject: "X", Reply: true, Date: day(2)},
		}, "((1)(2))"},
		{"missing parent with one child: promoted", []Message{
			{Num: 1, MessageID: "b", References: []string{"a"}, BaseSubject: "Y", Reply: true, Date: day(1)},
			{Num: 2, MessageID: "z", BaseSubject: "Z", Date: day(2)},
		}, "(1)(2)"},
		{"subject merge: a reply joins the original", []Message{
			{Num: 1, MessageID: "a", BaseSubject: "X", Date: day(1)},
			{Num: 2, MessageID: "b", BaseSubject: "X", Reply: true, Date: day(2)},
		}, "(1 2)"},
		{"subject merge: two originals under a placeholder", []Message{
			{Num: 1, MessageID: "a", BaseSubject: "X", Date: day(1)},
			{Num: 2, MessageID: "b", BaseSubject: "X", Date: day(2)},
		}, "((1)(2))"},
		{"empty subjects do not merge", []Message{
			{Num: 1, MessageID: "a", Date: day(1)},
			{Num: 2, MessageID: "b", Date: day(2)},
		}, "(1)(2)"},
		{"duplicate Message-ID", []Message{
			{Num: 1, MessageID: "a", BaseSubject: "P", Date: day(1)},
			{Num: 2, MessageID: "a", BaseSubject: "Q", Date: day(2)},
		}, "(1)(2)"},
		{"reference loop", []Message{
			{Num: 1, MessageID: "a", References: []string{"b"}, BaseSubject: "P", Date: day(1)},
			{Num: 2, MessageID: "b", References: []string{"a"}, BaseSubject: "Q", Date: day(2)},
		}, "(2 1)"}, // the first message made b the parent of a; 2 cannot undo it without a loop
		{"self reference", []Message{
			{Num: 1, MessageID: "a", References: []string{"a"}, BaseSubject: "P", Date: day(1)},
		}, "(1)"},
		{"equal dates: by number", []Message{
			{Num: 2, MessageID: "b", BaseSubject: "Q", Date: day(1)},
			{Num: 1, MessageID: "a", BaseSubject: "P", Date: day(1)},
		}, "(1)(2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := format(References(tc.msgs)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestReferencesRandom checks on random reference graphs that every
// message appears exactly once and nothing loops.
func TestReferencesRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := 1 + rnd.IntN(60)
		msgs := make([]Message, n)
		for i := range msgs {
			msgs[i] = Message{Num: uint32(i + 1), MessageID: fmt.Sprint("m", rnd.IntN(n+5)), BaseSubject: fmt.Sprint("s", rnd.IntN(5)), Reply: rnd.IntN(2) == 0, Date: day(1 + rnd.IntN(20))}
			for range rnd.IntN(4) {
				msgs[i].References = append(msgs[i].References, fmt.Sprint("m", rnd.IntN(n+5)))
			}
		}
		seen := map[uint32]int{}
		var walk func(nodes []*Node, depth int)
		walk = func(nodes []*Node, depth int) {
			if depth > n+2 {
				t.Fatalf("round %d: tree deeper than the number of messages", round)
			}
			for _, nd := range nodes {
				if nd.Msg != nil {
					seen[nd.Msg.Num]++
				}
				walk(nd.Children, depth+1)
			}
		}
		walk(References(msgs), 0)
		for i := range msgs {
			if seen[uint32(i+1)] != 1 {
				t.Fatalf("round %d: message %d appears %d times", round, i+1, seen[uint32(i+1)])
			}
		}
	}
}

func BenchmarkReferences100k(b *testing.B) {
	rnd := rand.New(rand.NewPCG(3, 4))
	const n = 100_000
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{Num: uint32(i + 1), MessageID: fmt.Sprint("id", i), BaseSubject: fmt.Sprint("subject ", i/5), Date: day(1).Add(time.Duration(i) * time.Minute)}
		if i%5 != 0 {
			msgs[i].References = []string{fmt.Sprint("id", i-i%5), fmt.Sprint("id", i-1-rnd.IntN(i%5))}
			msgs[i].Reply = true
		}
	}
	for b.Loop() {
		References(msgs)
	}
}
