package config

import (
	"strings"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		err  string
	}{
		{"0", 0, ""},
		{"65536", 65536, ""},
		{"64 MiB", 64 << 20, ""},
		{"64MiB", 64 << 20, ""},
		{" 512KiB ", 512 << 10, ""},
		{"2GiB", 2 << 30, ""},
		{"10MB", 10_000_000, ""},
		{"10 kB", 10_000, ""},
		{"10KB", 10_000, ""},
		{"3GB", 3_000_000_000, ""},
		{"100 B", 100, ""},
		{"", 0, "want octets"},
		{"MiB", 0, "want octets"},
		{"-5", 0, "want octets"},
		{"1.5MiB", 0, "unknown unit \".5MiB\""},
		{"64 mib", 0, "unknown unit \"mib\""},
		{"99999999999999999999", 0, "too large"},
		{"9999999999999GiB", 0, "too large"},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseByteSize(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %v, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	tests := []struct {
		in   ByteSize
		want string
	}{
		{0, "0"}, {1000, "1000"}, {1024, "1KiB"}, {64 << 20, "64MiB"}, {3 << 30, "3GiB"}, {1536 << 10, "1536KiB"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%d.String() = %q, want %q", int64(tt.in), got, tt.want)
		}
	}
}

// FuzzParseByteSize: no panic, never negative, and String round-trips.
func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"0", "64 MiB", "10MB", "1GiB", "9223372036854775807", "x", " 1 kB "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseByteSize(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("ParseByteSize(%q) = %d < 0", s, v)
		}
		back, err := ParseByteSize(v.String())
		if err != nil || back != v {
			t.Fatalf("round trip of %q: %q -> %d, %v", s, v.String(), back, err)
		}
	})
}
