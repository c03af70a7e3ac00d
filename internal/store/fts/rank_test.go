package fts

import (
	"fmt"
	"testing"
)

func TestGramScore(t *testing.T) {
	st := Stats{Docs: 1000, AvgSize: 2000}
	if GramScore(0, 2000, 10, st) != 0 {
		t.Error("absent gram scores")
	}
	rare, common := GramScore(1, 2000, 5, st), GramScore(1, 2000, 900, st)
	if !(rare > common && common > 0) {
		t.Errorf("rare %v, common %v", rare, common)
	}
	if once, thrice := GramScore(1, 2000, 5, st), GramScore(3, 2000, 5, st); !(thrice > once) {
		t.Errorf("tf does not count: %v %v", once, thrice)
	}
	if short, long := GramScore(1, 500, 5, st), GramScore(1, 20000, 5, st); !(short > long) {
		t.Errorf("length does not count: %v %v", short, long)
	}
	if s := GramScore(1, 10, 5, Stats{}); s <= 0 {
		t.Errorf("empty stats: %v", s)
	}
}

func TestRelevancy(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want string
	}{
		{nil, "[]"},
		{[]float64{2, 1, 0.001, 0}, "[100 50 1 1]"},
		{[]float64{0, 0}, "[100 100]"},
		{[]float64{3.3}, "[100]"},
	} {
		if got := fmt.Sprint(Relevancy(tc.in)); got != tc.want {
			t.Errorf("Relevancy(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
