package fts

import "testing"

func BenchmarkExtract(b *testing.B) {
	root, r := parse(b, multipartMessage)
	b.SetBytes(int64(len(multipartMessage)))
	for b.Loop() {
		if _, err := Extract(r, root); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPreview(b *testing.B) {
	root, r := parse(b, multipartMessage)
	for b.Loop() {
		if _, err := Preview(r, root); err != nil {
			b.Fatal(err)
		}
	}
}
